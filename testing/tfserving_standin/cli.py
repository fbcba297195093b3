"""Command line of the TF Serving stand-in, with tensorflow_model_server's flags.

The flag table (names, types, order, help) is hack/data/tf_serving_flags.json,
generated from main.cc of the pinned TF Serving release, so a flag that release
lacks is an unknown argument here too. Flags are parsed the way tsl::Flags::Parse
does it (xla/tsl/util/command_line_flags.cc in the TensorFlow the release builds
with), not argparse:

- only ``--name=value`` is understood; ``--name value`` (space) is two unknown
  arguments, because tensorflow_model_server does not accept it either;
- a bool also takes a bare ``--name``; its value is ``true``/``false`` in any
  ASCII case, or exactly ``1``/``0``; anything else (``yes``, ``01``, empty) is a
  bad value; ``--nameX`` is not that flag (it is looked up as another name);
- int32/int64/float values are read like ``sscanf("%d%c")``: leading white
  space and a sign are allowed, nothing may follow the number;
- a bad value prints the usage and exits 255; an unknown argument prints
  ``unknown argument: X`` plus the usage and the server still starts.

Typical usage example:

    python -m tfserving_standin --port=8500 --rest_api_port=8501 \\
        --model_name=m --model_base_path=/models/m
"""

import dataclasses
import json
import logging
import math
import os
import re
import struct
import sys
from pathlib import Path

from tfserving_standin import STANDIN_VERSION, constants
from tfserving_standin.config import ServerOptions

logger = logging.getLogger(__name__)

# The one flag table: hack/data/tf_serving_flags.json in a checkout; the image sets
# TFS_STANDIN_FLAGS_FILE to its copy.
FLAGS_FILE = Path(
    os.environ.get(
        "TFS_STANDIN_FLAGS_FILE",
        Path(__file__).resolve().parents[2] / "hack" / "data" / "tf_serving_flags.json",
    )
)

# Flags the stand-in acts on; every other flag of the table is accepted, checked
# for its type and logged as ignored.
HONOURED = frozenset(
    {
        "port",
        "grpc_socket_path",
        "rest_api_port",
        "rest_api_num_threads",
        "rest_api_timeout_in_ms",
        "rest_api_enable_cors_support",
        "allow_version_labels_for_unavailable_models",
        "model_config_file",
        "model_config_file_poll_wait_seconds",
        "model_name",
        "model_base_path",
        "max_num_load_retries",
        "load_retry_interval_micros",
        "file_system_poll_wait_seconds",
        "tensorflow_session_parallelism",
        "tensorflow_session_config_file",
        "tensorflow_intra_op_parallelism",
        "tensorflow_inter_op_parallelism",
        "ssl_config_file",
        "saved_model_tags",
        "grpc_channel_arguments",
        "enable_model_warmup",
        "num_request_iterations_for_warmup",
        "version",
        "monitoring_config_file",
        "enable_signature_method_name_check",
        "enable_grpc_healthcheck_service",
        "enable_serialization_as_tensor_content",
    }
)

# C isspace() in the "C" locale, which sscanf skips before a number.
_C_SPACE = " \t\n\v\f\r"
_INT_RE = re.compile(r"[+-]?[0-9]+")
_FLOAT_RE = re.compile(
    r"[+-]?(?:"
    r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
    r"|0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?"
    r"|(?i:inf(?:inity)?|nan(?:\([0-9A-Za-z_]*\))?)"
    r")"
)
_INT_BITS = {"int32": 32, "int64": 64}


@dataclasses.dataclass(frozen=True)
class Flag:
    """One tensorflow_model_server flag, as the flag table records it."""

    name: str
    field: str
    kind: str
    usage: str
    honoured: bool


def load_flags(path: Path = FLAGS_FILE) -> list[Flag]:
    """Returns the flags of tf_serving_flags.json in main.cc order."""
    data = json.loads(path.read_text())
    return [
        Flag(
            name=name,
            field=flag["field"],
            kind=flag["type"],
            usage=flag["usage"],
            honoured=name in HONOURED,
        )
        for name, flag in data["flags"].items()
    ]


FLAGS: list[Flag] = load_flags()


@dataclasses.dataclass
class ParsedFlags:
    """Result of parsing argv the way tsl::Flags::Parse does."""

    options: ServerOptions
    ok: bool
    unknown: list[str]
    given: list[str]


def _parse_int(text: str, bits: int) -> int:
    """sscanf %d / %ld: strtol, clamped to long, stored in ``bits`` bits."""
    text = text.lstrip(_C_SPACE)
    if not _INT_RE.fullmatch(text):
        raise ValueError(text)
    value = max(-(2**63), min(2**63 - 1, int(text)))
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def _parse_float(text: str) -> float:
    """sscanf %f: strtof, so the value is rounded to a 32-bit float."""
    text = text.lstrip(_C_SPACE)
    if not _FLOAT_RE.fullmatch(text):
        raise ValueError(text)
    body = text.lstrip("+-")
    if body[:2].lower() == "0x":
        value = float.fromhex(text)
    elif body[:3].lower() == "nan":
        value = math.copysign(math.nan, -1.0 if text.startswith("-") else 1.0)
    else:
        value = float(text)
    try:
        return struct.unpack("f", struct.pack("f", value))[0]
    except OverflowError:
        return math.copysign(math.inf, value)


def _parse_bool(text: str) -> bool:
    """absl::EqualsIgnoreCase with true/false, or exactly 1/0."""
    if text in ("1", "0"):
        return text == "1"
    if text.isascii() and text.lower() in ("true", "false"):
        return text.lower() == "true"
    raise ValueError(text)


def _parse_value(kind: str, text: str):
    if kind == "string":
        return text
    if kind == "bool":
        return _parse_bool(text)
    if kind == "float":
        return _parse_float(text)
    return _parse_int(text, _INT_BITS[kind])


def _match(arg: str, flag: Flag) -> tuple[bool, bool, object]:
    """Tries one flag: returns (was_found, value_ok, value)."""
    prefix = "--" + flag.name
    if not arg.startswith(prefix):
        return False, True, None
    rest = arg[len(prefix) :]
    if flag.kind == "bool" and rest == "":
        return True, True, True
    if not rest.startswith("="):
        return False, True, None
    value = rest[1:]
    try:
        return True, True, _parse_value(flag.kind, value)
    except ValueError:
        print(
            f"Couldn't interpret value {value} for flag {flag.name}.", file=sys.stderr
        )
        return True, False, None


def parse_flags(argv: list[str]) -> ParsedFlags:
    """Parses tensorflow_model_server flags (argv without the program name)."""
    options = ServerOptions()
    ok = True
    unknown: list[str] = []
    given: list[str] = []
    for index, arg in enumerate(argv):
        if arg == "--":
            unknown.extend(argv[index:])
            break
        for flag in FLAGS:
            found, value_ok, value = _match(arg, flag)
            if not value_ok:
                ok = False
            if found:
                if value_ok:
                    setattr(options, flag.field, value)
                    given.append(flag.name)
                break
        else:
            unknown.append(arg)
    if unknown and unknown[0] == "--help":
        ok = False
    return ParsedFlags(options=options, ok=ok, unknown=unknown, given=given)


def usage(program: str) -> str:
    """Returns the usage text in tsl::Flags::Usage's layout."""
    defaults = ServerOptions()
    lines = [f"usage: {program}", "Flags:"]
    for flag in FLAGS:
        default = getattr(defaults, flag.field)
        if flag.kind == "bool":
            shown = f"--{flag.name}={'true' if default else 'false'}"
        elif flag.kind == "string":
            shown = f'--{flag.name}="{default}"'
        elif flag.kind == "float":
            shown = f"--{flag.name}={default:f}"
        else:
            shown = f"--{flag.name}={default}"
        note = "" if flag.honoured else " [stand-in: accepted, ignored]"
        lines.append(f"\t{shown:<33}\t{flag.kind}\t{flag.usage}{note}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Parses the flags and runs the stand-in server until a signal ends it.

    Returns:
        0 after a graceful shutdown (TFS_STANDIN_GRACEFUL_SHUTDOWN=1 only), 255
        (like the real binary's -1) on a flag or start-up error. By default a
        signal ends the process and nothing is returned.
    """
    args = sys.argv[1:] if argv is None else argv
    program = "tensorflow_model_server (TF Serving STAND-IN)"
    parsed = parse_flags(args)
    if not parsed.ok:
        print(usage(program), end="")
        return 255
    if parsed.options.display_version:
        import tensorflow as tf

        print(
            f"TensorFlow ModelServer: {STANDIN_VERSION}-standin "
            f"({constants.STANDIN_BANNER})"
        )
        print(f"TensorFlow Library: {tf.__version__}")
        return 0
    if parsed.unknown:
        print(f"unknown argument: {parsed.unknown[0]}\n{usage(program)}", end="")
    from tfserving_standin import server

    server.configure_logging()
    for flag in FLAGS:
        if flag.name in parsed.given and not flag.honoured:
            logger.warning("Flag --%s accepted but ignored by the stand-in", flag.name)
    return server.run(parsed.options)


if __name__ == "__main__":
    raise SystemExit(main())
