"""Command line of the TF Serving stand-in, with tensorflow_model_server's flags.

The flags are parsed the way tensorflow::Flags::Parse does it (not argparse):
only ``--name=value`` is understood, booleans also take a bare ``--name`` and
``=true``/``=false``; a bad value prints the usage and exits 255; an unknown
argument prints ``unknown argument: X`` plus the usage and the server still
starts, exactly like the real binary. ``--flag value`` (space) is therefore NOT
accepted, because tensorflow_model_server does not accept it either.

Typical usage example:

    python -m tfserving_standin --port=8500 --rest_api_port=8501 \
        --model_name=m --model_base_path=/models/m
"""

import dataclasses
import logging
import re
import sys

from tfserving_standin import STANDIN_VERSION, constants
from tfserving_standin.config import ServerOptions

logger = logging.getLogger(__name__)

_INT_RE = re.compile(r"[ \t\n]*[+-]?[0-9]+")
# sscanf("%f%c") == 1: leading space only, no digit separators (Python's float()
# also takes trailing space and "1_0").
_FLOAT_RE = re.compile(
    r"[ \t\n]*[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
    r"|inf(?:inity)?|nan)",
    re.IGNORECASE,
)

# (flag, ServerOptions field, type, honoured by the stand-in?, help) in main.cc order.
FLAGS: list[tuple[str, str, type, bool, str]] = [
    ("port", "grpc_port", int, True, "TCP port for gRPC; 0 disables it"),
    ("grpc_socket_path", "grpc_socket_path", str, True, "UNIX socket for gRPC"),
    ("rest_api_port", "http_port", int, True, "HTTP/REST port; 0 disables REST"),
    ("rest_api_num_threads", "http_num_threads", int, True, "REST worker threads"),
    ("rest_api_timeout_in_ms", "http_timeout_in_ms", int, True, "REST run timeout"),
    ("rest_api_enable_cors_support", "enable_cors_support", bool, True, "CORS"),
    ("enable_batching", "enable_batching", bool, False, "enable batching"),
    (
        "allow_version_labels_for_unavailable_models",
        "allow_version_labels_for_unavailable_models",
        bool,
        True,
        "allow new labels that point at versions not yet available",
    ),
    ("batching_parameters_file", "batching_parameters_file", str, False, "batching"),
    (
        "enable_per_model_batching_parameters",
        "enable_per_model_batching_params",
        bool,
        False,
        "per-model batching parameters",
    ),
    ("model_config_file", "model_config_file", str, True, "ModelServerConfig file"),
    (
        "model_config_file_poll_wait_seconds",
        "fs_model_config_poll_wait_seconds",
        int,
        True,
        "seconds between re-reads of --model_config_file; 0 = read once",
    ),
    ("model_name", "model_name", str, True, "model name (without config file)"),
    ("model_base_path", "model_base_path", str, True, "model base path"),
    ("num_load_threads", "num_load_threads", int, False, "load threads"),
    ("num_unload_threads", "num_unload_threads", int, False, "unload threads"),
    ("max_num_load_retries", "max_num_load_retries", int, True, "load retries"),
    (
        "load_retry_interval_micros",
        "load_retry_interval_micros",
        int,
        True,
        "interval between load retries",
    ),
    (
        "file_system_poll_wait_seconds",
        "file_system_poll_wait_seconds",
        int,
        True,
        "seconds between base-path polls; 0 = poll once",
    ),
    ("flush_filesystem_caches", "flush_filesystem_caches", bool, False, "flush"),
    (
        "tensorflow_session_parallelism",
        "tensorflow_session_parallelism",
        int,
        True,
        "session threads",
    ),
    (
        "tensorflow_session_config_file",
        "tensorflow_session_config_file",
        str,
        True,
        "Session ConfigProto text file",
    ),
    (
        "tensorflow_intra_op_parallelism",
        "tensorflow_intra_op_parallelism",
        int,
        True,
        "intra-op threads",
    ),
    (
        "tensorflow_inter_op_parallelism",
        "tensorflow_inter_op_parallelism",
        int,
        True,
        "inter-op threads",
    ),
    ("use_alts_credentials", "use_alts_credentials", bool, False, "ALTS"),
    ("ssl_config_file", "ssl_config_file", str, True, "SSLConfig text file"),
    ("platform_config_file", "platform_config_file", str, False, "platforms"),
    (
        "per_process_gpu_memory_fraction",
        "per_process_gpu_memory_fraction",
        float,
        False,
        "GPU memory fraction",
    ),
    ("saved_model_tags", "saved_model_tags", str, True, "MetaGraph tags"),
    ("grpc_channel_arguments", "grpc_channel_arguments", str, True, "k=v,k=v"),
    ("grpc_max_threads", "grpc_max_threads", int, False, "gRPC threads"),
    ("enable_model_warmup", "enable_model_warmup", bool, True, "run warmup records"),
    (
        "num_request_iterations_for_warmup",
        "num_request_iterations_for_warmup",
        int,
        True,
        "warmup iterations per record",
    ),
    ("version", "display_version", bool, True, "Display version"),
    ("monitoring_config_file", "monitoring_config_file", str, True, "metrics"),
    (
        "remove_unused_fields_from_bundle_metagraph",
        "remove_unused_fields_from_bundle_metagraph",
        bool,
        False,
        "trim MetaGraphDef",
    ),
    ("prefer_tflite_model", "prefer_tflite_model", bool, False, "TFLite"),
    ("num_tflite_pools", "num_tflite_pools", int, False, "TFLite pools"),
    (
        "num_tflite_interpreters_per_pool",
        "num_tflite_interpreters_per_pool",
        int,
        False,
        "TFLite interpreters",
    ),
    (
        "enable_signature_method_name_check",
        "enable_signature_method_name_check",
        bool,
        True,
        "check SignatureDef method_name",
    ),
    ("xla_cpu_compilation_enabled", "xla_cpu_compilation_enabled", bool, False, ""),
    ("xla_gpu_compilation_enabled", "xla_gpu_compilation_enabled", bool, False, ""),
    ("enable_profiler", "enable_profiler", bool, False, "profiler service"),
    (
        "thread_pool_factory_config_file",
        "thread_pool_factory_config_file",
        str,
        False,
        "thread pools",
    ),
    ("mixed_precision", "mixed_precision", str, False, "mixed precision"),
    ("skip_initialize_tpu", "skip_initialize_tpu", bool, False, "TPU"),
    (
        "enable_grpc_healthcheck_service",
        "enable_grpc_healthcheck_service",
        bool,
        True,
        "grpc.health.v1 service",
    ),
    (
        "enable_serialization_as_tensor_content",
        "enable_serialization_as_tensor_content",
        bool,
        True,
        "return outputs as tensor_content",
    ),
]


@dataclasses.dataclass
class ParsedFlags:
    """Result of parsing argv the way tensorflow::Flags::Parse does."""

    options: ServerOptions
    ok: bool
    unknown: list[str]
    given: list[str]


def _parse_value(kind: type, text: str):
    if kind is str:
        return text
    if kind is int:
        if not _INT_RE.fullmatch(text):
            raise ValueError(text)
        return int(text)
    if kind is float:
        if not _FLOAT_RE.fullmatch(text):
            raise ValueError(text)
        return float(text)
    raise TypeError(kind)


def _match(arg: str, name: str, kind: type) -> tuple[bool, bool, object]:
    """Tries one flag: returns (was_found, value_ok, value)."""
    if not arg.startswith("--" + name):
        return False, True, None
    rest = arg[len(name) + 2 :]
    if kind is bool:
        if rest in ("", "=true"):
            return True, True, True
        if rest == "=false":
            return True, True, False
        print(f"Couldn't interpret value {rest} for flag {name}.", file=sys.stderr)
        return True, False, None
    if not rest.startswith("="):
        return False, True, None
    try:
        return True, True, _parse_value(kind, rest[1:])
    except ValueError:
        print(f"Couldn't interpret value {rest[1:]} for flag {name}.", file=sys.stderr)
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
        for name, field, kind, _, _ in FLAGS:
            found, value_ok, value = _match(arg, name, kind)
            if not value_ok:
                ok = False
            if found:
                if value_ok:
                    setattr(options, field, value)
                    given.append(name)
                break
        else:
            unknown.append(arg)
    if unknown and unknown[0] == "--help":
        ok = False
    return ParsedFlags(options=options, ok=ok, unknown=unknown, given=given)


def usage(program: str) -> str:
    """Returns the usage text in tensorflow::Flags::Usage's layout."""
    defaults = ServerOptions()
    lines = [f"usage: {program}", "Flags:"]
    for name, field, kind, honoured, text in FLAGS:
        default = getattr(defaults, field)
        if kind is bool:
            shown, type_name = f"--{name}={'true' if default else 'false'}", "bool"
        elif kind is str:
            shown, type_name = f'--{name}="{default}"', "string"
        elif kind is float:
            shown, type_name = f"--{name}={default:f}", "float"
        else:
            shown, type_name = f"--{name}={default}", "int32"
        note = "" if honoured else " [stand-in: accepted, ignored]"
        lines.append(f"\t{shown:<33}\t{type_name}\t{text}{note}")
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
    for name, _, _, honoured, _ in FLAGS:
        if name in parsed.given and not honoured:
            logger.warning("Flag --%s accepted but ignored by the stand-in", name)
    return server.run(parsed.options)


if __name__ == "__main__":
    raise SystemExit(main())
