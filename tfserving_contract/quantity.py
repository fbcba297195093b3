"""Kubernetes resource quantities: memory as bytes, and requests as users write them.

Accepts what the chart's schema accepts for ``resources.*.memory`` (a decimal
number with an optional ``k``/``K``/``M``/``G``/``T``/``P``/``E`` or
``Ki``..``Ei`` suffix) plus the exponent form (``129e6``) the API server may
return. Refuses ``m`` (milli: ``512m`` is half a byte, almost always meant as
``512Mi``).

Typical usage example:

    limit = parse_bytes("512Mi")      # 536870912
    print(mib(limit))                 # "512.0 MiB"
    parser.add_argument("--cpu-request", type=request_quantity)   # 500m, 1, 256Mi
"""

from __future__ import annotations

import argparse
import math
import re
from decimal import Decimal

_SUFFIXES = {
    "": 1,
    "k": 10**3,
    "K": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "E": 10**18,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
}
_QUANTITY = re.compile(
    r"^(?P<number>[0-9]+(?:\.[0-9]+)?)"
    r"(?:(?P<suffix>[kKMGTPE]i?)|[eE](?P<exponent>[+-]?[0-9]+))?$"
)
EXAMPLES = "512Mi, 2Gi, 1G or 1073741824"
# A CPU or memory request as users write them (500m, 1, 1.5, 256Mi, 1G).
_REQUEST = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$")


class QuantityError(ValueError):
    """Text that is not a memory quantity; the message names the fix."""


def parse_bytes(text: str) -> int:
    """Returns the bytes a memory quantity names, rounded up to a whole byte.

    Raises:
        QuantityError: not a quantity, a milli quantity, or not above 0.
    """
    value = str(text).strip()
    match = _QUANTITY.match(value)
    if match is None:
        hint = ""
        if value.endswith("m") and _QUANTITY.match(value[:-1]):
            hint = f" ({value[:-1]}Mi?: the m suffix means thousandths of a byte)"
        elif value.upper().endswith(("B", "IB")):
            hint = " (Kubernetes writes no B: Mi, not MiB or MB)"
        raise QuantityError(
            f"{text!r} is not a Kubernetes memory quantity{hint}: write e.g. "
            f"{EXAMPLES} (binary Ki Mi Gi Ti Pi Ei, decimal k M G T P E)"
        )
    number = Decimal(match["number"])
    if match["exponent"] is not None:
        number *= Decimal(10) ** int(match["exponent"])
    else:
        number *= _SUFFIXES[match["suffix"] or ""]
    if number <= 0:
        raise QuantityError(f"memory quantity {text!r} must be above 0: e.g. 512Mi")
    return math.ceil(number)


def request_quantity(text: str) -> str:
    """argparse type: a Kubernetes CPU or memory request such as 500m or 256Mi."""
    if not _REQUEST.match(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a Kubernetes quantity: write e.g. 250m or 1 (CPU), "
            "256Mi or 1Gi (memory)"
        )
    return text


def mib(size: int) -> str:
    """``size`` bytes as ``"12.3 MiB"``."""
    return f"{size / 2**20:.1f} MiB"


def ceil_mi(size: int) -> str:
    """The smallest whole ``<n>Mi`` quantity holding ``size`` bytes."""
    return f"{math.ceil(size / 2**20)}Mi"
