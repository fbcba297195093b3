"""TF Serving's model directory layout: ``<base_path>/<version>/``.

The server treats every child of a model's base path whose name parses as an
integer as a version (``ParseVersionNumber`` is ``absl::SimpleAtoi`` on the
name: tensorflow_serving/sources/storage_path/file_system_storage_path_source.cc
lines 87-89 at 2.20.0), so ``7``, ``007`` and ``+7`` are all version 7 (its own
test data has ``00000123/`` and ``01/``), and other names are skipped without an
error. Two children with one number load only one of them, picked by directory
listing order (lines 118-137): here that is an error that names both.

Inside a version, ``assets.extra/`` holds files the server does not load as part
of the SavedModel: TF Serving reads ``tf_serving_warmup_requests`` there
(saved_model_warmup_util.h line 32); this project's exporter adds
``sample_request.json``, ``golden_outputs.json`` and ``export_metadata.json``.

Typical usage example:

    from tfserving_contract import layout
    newest = layout.latest_version(Path("models/fashion_mnist"))
"""

from __future__ import annotations

import re
from pathlib import Path

ASSETS_EXTRA = "assets.extra"
WARMUP_REQUESTS_FILE = "tf_serving_warmup_requests"
SAMPLE_REQUEST_FILE = "sample_request.json"
GOLDEN_OUTPUTS_FILE = "golden_outputs.json"
EXPORT_METADATA_FILE = "export_metadata.json"

_INT64_MAX = 2**63 - 1
# absl::SimpleAtoi: ASCII white space around, an optional sign, ASCII digits.
_SIMPLE_ATOI = re.compile(r"[ \t\n\v\f\r]*([+-]?[0-9]+)[ \t\n\v\f\r]*")


class LayoutError(ValueError):
    """A base path the server would read differently from what the user meant."""


def parse_version(name: str) -> int | None:
    """Returns the version a child named ``name`` is to the server, or None."""
    match = _SIMPLE_ATOI.fullmatch(name)
    if match is None:
        return None
    number = int(match[1])
    return number if -_INT64_MAX - 1 <= number <= _INT64_MAX else None


def version_paths(base_path: Path) -> dict[int, Path]:
    """Returns every child the server takes as a version, by number, ascending.

    Files count too, as for the server (it then fails to load them).

    Raises:
        LayoutError: ``base_path`` is not a directory, or two children parse to
            the same number.
    """
    if not base_path.is_dir():
        raise LayoutError(f"base path {base_path} is not a directory")
    found: dict[int, Path] = {}
    for child in sorted(base_path.iterdir()):
        number = parse_version(child.name)
        if number is None:
            continue
        if number in found:
            raise LayoutError(
                f"{found[number]} and {child} are both version {number}: TF Serving "
                "loads one of them, picked by listing order; remove or renumber one"
            )
        found[number] = child
    return dict(sorted(found.items()))


def version_dirs(base_path: Path) -> dict[int, Path]:
    """Returns the versions that are directories (what can hold a SavedModel).

    Raises:
        LayoutError: as version_paths.
    """
    return {n: p for n, p in version_paths(base_path).items() if p.is_dir()}


def latest_version(base_path: Path) -> int | None:
    """Returns the highest version under ``base_path``, or None when there is none."""
    versions = version_paths(base_path)
    return max(versions) if versions else None


def assets_extra(version_dir: Path) -> Path:
    """Returns ``<version_dir>/assets.extra``."""
    return version_dir / ASSETS_EXTRA
