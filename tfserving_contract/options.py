"""The command-line vocabulary every tool shares: one spelling, one meaning.

``--model-name`` and ``--model-base-path`` are TF Serving's own ``--model_name``
and ``--model_base_path``; ``--rest-url`` is a REST base URL, ``--grpc-target`` a
gRPC ``host:port``; ``--timeout`` bounds each request in seconds; ``-v`` or
``--log-level`` sets the verbosity. Earlier spellings stay accepted as second
option strings (``--model``, ``--base-path``, ``--tfs-target``, ``--deadline``).

Typical usage example:

    parser = argparse.ArgumentParser(parents=[options.logging_parser()])
    options.add_model_name(parser, required=True)
    args = parser.parse_args()
    options.setup_logging(args)
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Libraries whose DEBUG output drowns the tools' own: -v leaves them at INFO.
_CHATTY = ("botocore", "boto3", "s3transfer", "urllib3", "kubernetes", "asyncio")


def logging_parser(default_level: str = "INFO") -> argparse.ArgumentParser:
    """Returns the parent parser with ``-v/--verbose`` and ``--log-level``."""
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("logging")
    group.add_argument(
        "-v", "--verbose", action="store_true", help="debug logging (--log-level DEBUG)"
    )
    group.add_argument(
        "--log-level",
        type=str.upper,
        choices=LOG_LEVELS,
        default=default_level,
        help="verbosity of diagnostics on stderr",
    )
    return parent


def log_level(args: argparse.Namespace) -> str:
    """The level ``-v`` and ``--log-level`` ask for, e.g. ``"DEBUG"``."""
    return "DEBUG" if getattr(args, "verbose", False) else args.log_level


def setup_logging(args: argparse.Namespace) -> None:
    """Configures the root logger on stderr from ``-v`` and ``--log-level``."""
    level = log_level(args)
    logging.basicConfig(level=level, stream=sys.stderr, format=LOG_FORMAT)
    if getattr(args, "verbose", False):
        for name in _CHATTY:
            logging.getLogger(name).setLevel(logging.INFO)


def add_model_name(
    parser: Any, *, required: bool = False, help: str = "served model's name"
) -> None:
    """``--model-name NAME`` (also ``--model``), as TF Serving's --model_name."""
    parser.add_argument(
        "--model-name", "--model", dest="model_name", required=required, help=help
    )


def add_model_base_path(
    parser: Any,
    *,
    required: bool = False,
    default: str | None = None,
    aliases: tuple[str, ...] = ("--base-path",),
    help: str = "model base path: <path>/<version>/saved_model.pb",
) -> None:
    """``--model-base-path PATH`` (also ``--base-path``), as --model_base_path."""
    parser.add_argument(
        "--model-base-path",
        *aliases,
        dest="model_base_path",
        type=Path,
        required=required,
        default=default,
        help=help,
    )


def add_rest_url(
    parser: Any, *, required: bool = False, help: str = "REST base URL"
) -> None:
    """``--rest-url URL``: the REST API's base URL, e.g. http://127.0.0.1:8501."""
    parser.add_argument("--rest-url", required=required, help=help)


def add_grpc_target(
    parser: Any, *, default: str | None = None, help: str = "gRPC host:port"
) -> None:
    """``--grpc-target HOST:PORT`` (also ``--tfs-target``)."""
    parser.add_argument(
        "--grpc-target",
        "--tfs-target",
        dest="grpc_target",
        default=default,
        help=help,
    )


def add_timeout(
    parser: Any, *, default: float, help: str = "seconds allowed for each request"
) -> None:
    """``--timeout SECONDS`` (also ``--deadline``), a positive number."""
    parser.add_argument(
        "--timeout",
        "--deadline",
        dest="timeout",
        type=positive(float),
        default=default,
        help=help,
    )


def _checked(
    kind: Callable[[str], Any], ok: Callable[[Any], bool], rule: str
) -> Callable[[str], Any]:
    """An argparse type: ``kind(text)`` for which ``ok`` holds ("must be <rule>")."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from err
        if not ok(value):
            raise argparse.ArgumentTypeError(f"must be {rule}, got {text}")
        return value

    return parse


def positive(kind: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse type: ``kind(text)`` that must be > 0."""
    return _checked(kind, lambda value: value > 0, "> 0")


def above_one(kind: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse type: ``kind(text)`` that must be > 1 (a growth factor)."""
    return _checked(kind, lambda value: value > 1, "> 1")


# An argparse type: a float in (0, 1], e.g. a utilisation.
fraction = _checked(float, lambda value: 0 < value <= 1, "in (0, 1]")


def version_list(text: str) -> list[int]:
    """An argparse type: comma-separated version numbers such as ``1,2``."""
    try:
        versions = [int(part) for part in text.split(",") if part.strip()]
    except ValueError as err:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected comma-separated integers such as 1,2"
        ) from err
    if not versions or min(versions) < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: versions are integers >= 0")
    return sorted(set(versions))
