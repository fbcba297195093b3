"""Server options and model configuration for the TF Serving stand-in.

Holds the parsed flags (``ServerOptions``), builds the ModelServerConfig the
way tensorflow_model_server does (single model from --model_name and
--model_base_path, or --model_config_file in protobuf text format), and parses
the small text protos the real server reads (monitoring, SSL, batching).

Typical usage example:

    options = ServerOptions(model_name="m", model_base_path="/models/m")
    model_server_config = build_model_server_config(options)
"""

import dataclasses
import logging
from pathlib import Path

from google.protobuf import (
    descriptor_pb2,
    descriptor_pool,
    message_factory,
    text_format,
    wrappers_pb2,  # noqa: F401  (registers wrappers.proto in the default pool)
)
from tensorflow_serving.config import model_server_config_pb2

from tfserving_standin import constants
from tfserving_standin.errors import Code, ServingError

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class ServerOptions:
    """Options of tensorflow_model_server: one field per flag of tf_serving_flags.json.

    Field names are the variables main.cc binds the flags to, defaults the ones
    the flag table records (tests/tfserving_standin/test_flags.py checks both).
    """

    grpc_port: int = constants.DEFAULT_GRPC_PORT
    grpc_socket_path: str = ""
    http_port: int = constants.DEFAULT_REST_PORT
    http_num_threads: int = constants.DEFAULT_THREADS
    http_timeout_in_ms: int = constants.DEFAULT_REST_TIMEOUT_MS
    enable_cors_support: bool = False
    enable_batching: bool = False
    enable_per_model_batching_params: bool = False
    allow_version_labels_for_unavailable_models: bool = False
    batching_parameters_file: str = ""
    model_config_file: str = ""
    fs_model_config_poll_wait_seconds: int = 0
    model_name: str = constants.DEFAULT_MODEL_NAME
    model_base_path: str = ""
    num_load_threads: int = 0
    num_unload_threads: int = 0
    max_num_load_retries: int = constants.DEFAULT_MAX_NUM_LOAD_RETRIES
    load_retry_interval_micros: int = constants.DEFAULT_LOAD_RETRY_INTERVAL_MICROS
    file_system_poll_wait_seconds: int = constants.DEFAULT_FILE_SYSTEM_POLL_WAIT_SECONDS
    flush_filesystem_caches: bool = True
    tensorflow_session_parallelism: int = 0
    tensorflow_session_config_file: str = ""
    tensorflow_intra_op_parallelism: int = 0
    tensorflow_inter_op_parallelism: int = 0
    use_alts_credentials: bool = False
    ssl_config_file: str = ""
    platform_config_file: str = ""
    per_process_gpu_memory_fraction: float = 0.0
    saved_model_tags: str = constants.DEFAULT_SAVED_MODEL_TAGS
    grpc_channel_arguments: str = ""
    grpc_max_threads: int = constants.DEFAULT_THREADS
    enable_model_warmup: bool = True
    num_request_iterations_for_warmup: int = 0
    display_version: bool = False
    monitoring_config_file: str = ""
    remove_unused_fields_from_bundle_metagraph: bool = True
    prefer_tflite_model: bool = False
    num_tflite_pools: int = constants.SCHEDULABLE_CPUS
    num_tflite_interpreters_per_pool: int = 1
    enable_signature_method_name_check: bool = False
    xla_cpu_compilation_enabled: bool = False
    xla_gpu_compilation_enabled: bool = False
    enable_profiler: bool = True
    thread_pool_factory_config_file: str = ""
    mixed_precision: str = ""
    skip_initialize_tpu: bool = False
    enable_grpc_healthcheck_service: bool = False
    enable_serialization_as_tensor_content: bool = False


def _read_text(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError as exc:
        raise ServingError(
            Code.NOT_FOUND, f"{path}; No such file or directory ({exc.strerror})"
        ) from exc


def parse_text_proto(path: str, message, allow_unknown_field: bool = False):
    """Parses a protobuf text file into ``message`` (like ParseProtoTextFile).

    Raises:
        ServingError: the file is missing or is not valid text format.
    """
    text = _read_text(path)
    try:
        text_format.Parse(text, message, allow_unknown_field=allow_unknown_field)
    except text_format.ParseError as exc:
        raise ServingError(
            Code.INVALID_ARGUMENT, f"Invalid protobuf file: '{path}': {exc}"
        ) from exc
    return message


def build_single_model_config(name: str, base_path: str):
    """Returns the ModelServerConfig built from --model_name/--model_base_path."""
    logger.info(
        "Building single TensorFlow model file config:  model_name: %s "
        "model_base_path: %s",
        name,
        base_path,
    )
    config = model_server_config_pb2.ModelServerConfig()
    model = config.model_config_list.config.add()
    model.name = name
    model.base_path = base_path
    model.model_platform = constants.TENSORFLOW_PLATFORM
    return config


def read_model_server_config(path: str):
    """Parses a models.config file (ModelServerConfig in text format)."""
    return parse_text_proto(path, model_server_config_pb2.ModelServerConfig())


def build_model_server_config(options: ServerOptions):
    """Returns the initial ModelServerConfig for ``options``."""
    if options.model_config_file:
        return read_model_server_config(options.model_config_file)
    return build_single_model_config(options.model_name, options.model_base_path)


def model_platform(model) -> str:
    """ServerCore's GetPlatform: model_platform, or the deprecated model_type.

    Raises:
        ServingError: neither or both are set (upstream refuses both cases).
    """
    if model.model_type:
        logger.warning(
            "Deprecated ModelServerConfig::model_type field used. "
            "Prefer ModelServerConfig::model_platform."
        )
        if model.model_platform:
            raise ServingError(
                Code.INVALID_ARGUMENT,
                "Illegal setting both ModelServerConfig::model_type (deprecated) "
                f"and ModelServerConfig::model_platform, model name is {model.name}",
            )
        if model.model_type != 1:  # ModelType.TENSORFLOW
            raise ServingError(
                Code.INVALID_ARGUMENT,
                f"ModelServerConfig::model_type choice {model.model_type} not "
                "supported.",
            )
        return constants.TENSORFLOW_PLATFORM
    if not model.model_platform:
        raise ServingError(
            Code.INVALID_ARGUMENT,
            "Illegal setting neither ModelServerConfig::model_type (deprecated) nor "
            f"ModelServerConfig::model_platform, model name is {model.name}",
        )
    return model.model_platform


def validate_model_config_list(config) -> None:
    """Checks a ModelServerConfig the way ServerCore does before loading.

    Raises:
        ServingError: duplicate names, relative paths or unsupported platforms.
    """
    if config.WhichOneof("config") != "model_config_list":
        if config.WhichOneof("config") is None:
            return
        raise ServingError(
            Code.UNIMPLEMENTED,
            "The stand-in supports only model_config_list in ModelServerConfig",
        )
    models = config.model_config_list.config
    seen: set[str] = set()
    for model in models:
        if model.name in seen:
            raise ServingError(
                Code.INVALID_ARGUMENT,
                f"Illegal to list model {model.name} multiple times in config list",
            )
        seen.add(model.name)
    for model in models:
        if not model.base_path.startswith("/") and "://" not in model.base_path:
            raise ServingError(
                Code.INVALID_ARGUMENT,
                f"Expected model {model.name} to have an absolute path or URI; "
                f"got base_path()={model.base_path}",
            )
    for model in models:
        platform = model_platform(model)
        if platform != constants.TENSORFLOW_PLATFORM:
            raise ServingError(
                Code.INVALID_ARGUMENT,
                f"Model {model.name} requests unsupported platform {platform}",
            )


_F = descriptor_pb2.FieldDescriptorProto
_INT64 = ".google.protobuf.Int64Value"
_STRING = ".google.protobuf.StringValue"
_PACKAGE = "tensorflow.serving.standin"

# The pip package tensorflow-serving-api ships neither monitoring_config,
# ssl_config nor session_bundle_config, so the stand-in declares the fields it
# reads: (message, [(field, number, type, label, type_name)]).
_CONFIG_MESSAGES = [
    (
        "PrometheusConfig",
        [("enable", 1, _F.TYPE_BOOL, 1, ""), ("path", 2, _F.TYPE_STRING, 1, "")],
    ),
    (
        "MonitoringConfig",
        [("prometheus_config", 1, _F.TYPE_MESSAGE, 1, f".{_PACKAGE}.PrometheusConfig")],
    ),
    (
        "SSLConfig",
        [
            ("server_key", 1, _F.TYPE_STRING, 1, ""),
            ("server_cert", 2, _F.TYPE_STRING, 1, ""),
            ("custom_ca", 3, _F.TYPE_STRING, 1, ""),
            ("client_verify", 4, _F.TYPE_BOOL, 1, ""),
        ],
    ),
    (
        "BatchingParameters",
        [
            ("max_batch_size", 1, _F.TYPE_MESSAGE, 1, _INT64),
            ("batch_timeout_micros", 2, _F.TYPE_MESSAGE, 1, _INT64),
            ("max_enqueued_batches", 3, _F.TYPE_MESSAGE, 1, _INT64),
            ("num_batch_threads", 4, _F.TYPE_MESSAGE, 1, _INT64),
            ("thread_pool_name", 5, _F.TYPE_MESSAGE, 1, _STRING),
            ("allowed_batch_sizes", 6, _F.TYPE_INT64, 3, ""),
            ("pad_variable_length_inputs", 7, _F.TYPE_BOOL, 1, ""),
        ],
    ),
]


def _build_config_classes() -> dict:
    """Registers the config messages above and returns their classes by name."""
    pool = descriptor_pool.Default()
    file_proto = descriptor_pb2.FileDescriptorProto(
        name="tfserving_standin/config_protos.proto",
        package=_PACKAGE,
        syntax="proto3",
        dependency=["google/protobuf/wrappers.proto"],
    )
    for message_name, fields in _CONFIG_MESSAGES:
        message = file_proto.message_type.add(name=message_name)
        for name, number, field_type, label, type_name in fields:
            field = message.field.add(
                name=name, number=number, type=field_type, label=label
            )
            if type_name:
                field.type_name = type_name
    try:
        pool.FindFileByName(file_proto.name)
    except KeyError:
        pool.Add(file_proto)
    return {
        name: message_factory.GetMessageClass(
            pool.FindMessageTypeByName(f"{_PACKAGE}.{name}")
        )
        for name, _ in _CONFIG_MESSAGES
    }


_CLASSES = _build_config_classes()
MonitoringConfig = _CLASSES["MonitoringConfig"]
SSLConfig = _CLASSES["SSLConfig"]
BatchingParameters = _CLASSES["BatchingParameters"]


@dataclasses.dataclass
class PrometheusSettings:
    """Whether the metrics page is on and where it is served."""

    enabled: bool = False
    path: str = constants.DEFAULT_PROMETHEUS_PATH


def read_monitoring_config(path: str) -> PrometheusSettings:
    """Reads --monitoring_config_file (MonitoringConfig text proto)."""
    if not path:
        return PrometheusSettings()
    config = parse_text_proto(path, MonitoringConfig())
    prometheus = config.prometheus_config
    return PrometheusSettings(
        enabled=prometheus.enable,
        path=prometheus.path or constants.DEFAULT_PROMETHEUS_PATH,
    )


def read_batching_parameters(path: str):
    """Reads --batching_parameters_file (fields the stand-in does not know are
    tolerated: batching itself is not implemented)."""
    return parse_text_proto(path, BatchingParameters(), allow_unknown_field=True)


def read_ssl_config(path: str):
    """Reads --ssl_config_file (SSLConfig text proto)."""
    return parse_text_proto(path, SSLConfig())


def parse_grpc_channel_arguments(text: str) -> list[tuple[str, int | str]]:
    """Parses ``k=v,k=v`` like server.cc: integer values become ints."""
    result: list[tuple[str, int | str]] = []
    if not text:
        return result
    for item in text.split(","):
        key, _, value = item.partition("=")
        try:
            result.append((key, int(value)))
        except ValueError:
            result.append((key, value))
    return result
