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
import re
from pathlib import Path

from google.protobuf import (
    descriptor_pb2,
    descriptor_pool,
    message_factory,
    text_format,
    wrappers_pb2,
)
from tensorflow_serving.config import model_server_config_pb2

from tfserving_standin import constants
from tfserving_standin.errors import Code, ServingError

logger = logging.getLogger(__name__)

_LOCATION_RE = re.compile(r"^\d+(?::\d+)? : ")


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
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ServingError(
            Code.NOT_FOUND, f"{path}; No such file or directory ({exc.strerror})"
        ) from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        logger.error(
            "Error parsing text-format: %s: invalid UTF-8 at byte %d", path, exc.start
        )
        raise _invalid_file(path) from exc


def _invalid_file(path: str) -> ServingError:
    return ServingError(Code.INVALID_ARGUMENT, f"Invalid protobuf file: '{path}'")


def parse_text_proto(path: str, message):
    """Parses a protobuf text file into ``message`` like ParseProtoTextFile.

    Strict like ``TextFormat::ParseFromString``: an unknown field, a repeated
    singular field, a value of the wrong type or out of range is an error. As
    upstream (util/proto_util.h) the status says only ``Invalid protobuf file:
    '<path>'``; the parser's reason is logged, as protobuf's parser logs it.

    Raises:
        ServingError: NOT_FOUND for a missing file, INVALID_ARGUMENT otherwise.
    """
    text = _read_text(path)
    try:
        text_format.Parse(text, message)
    except text_format.ParseError as exc:
        reason = _LOCATION_RE.sub("", str(exc), count=1)
        logger.error(
            "Error parsing text-format %s: %s:%s: %s",
            message.DESCRIPTOR.full_name,
            exc.GetLine(),
            exc.GetColumn(),
            reason,
        )
        raise _invalid_file(path) from exc
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
_OPTIONAL, _REPEATED = _F.LABEL_OPTIONAL, _F.LABEL_REPEATED
_INT64 = ".google.protobuf.Int64Value"
_STRING = ".google.protobuf.StringValue"
_BOOL = ".google.protobuf.BoolValue"

# tensorflow-serving-api ships neither monitoring_config, ssl_config nor
# session_bundle_config, so the stand-in declares them here, field for field as
# in tensorflow/serving 2.20.0 (tensorflow_serving/config/monitoring_config.proto,
# config/ssl_config.proto, servables/tensorflow/session_bundle_config.proto
# BatchingParameters), under their real names so parse errors read the same:
# {file: [(message, [(field, number, type, label, type_name)])]}.
CONFIG_PROTOS = {
    "tensorflow_serving/config/monitoring_config.proto": [
        (
            "PrometheusConfig",
            [
                ("enable", 1, _F.TYPE_BOOL, _OPTIONAL, ""),
                ("path", 2, _F.TYPE_STRING, _OPTIONAL, ""),
            ],
        ),
        (
            "MonitoringConfig",
            [
                (
                    "prometheus_config",
                    1,
                    _F.TYPE_MESSAGE,
                    _OPTIONAL,
                    ".tensorflow.serving.PrometheusConfig",
                )
            ],
        ),
    ],
    "tensorflow_serving/config/ssl_config.proto": [
        (
            "SSLConfig",
            [
                ("server_key", 1, _F.TYPE_STRING, _OPTIONAL, ""),
                ("server_cert", 2, _F.TYPE_STRING, _OPTIONAL, ""),
                ("custom_ca", 3, _F.TYPE_STRING, _OPTIONAL, ""),
                ("client_verify", 4, _F.TYPE_BOOL, _OPTIONAL, ""),
            ],
        )
    ],
    # Only BatchingParameters of this file is read from a flag.
    "tensorflow_serving/servables/tensorflow/session_bundle_config.proto": [
        (
            "BatchingParameters",
            [
                ("max_batch_size", 1, _F.TYPE_MESSAGE, _OPTIONAL, _INT64),
                ("batch_timeout_micros", 2, _F.TYPE_MESSAGE, _OPTIONAL, _INT64),
                ("max_enqueued_batches", 3, _F.TYPE_MESSAGE, _OPTIONAL, _INT64),
                ("num_batch_threads", 4, _F.TYPE_MESSAGE, _OPTIONAL, _INT64),
                ("thread_pool_name", 5, _F.TYPE_MESSAGE, _OPTIONAL, _STRING),
                ("enable_large_batch_splitting", 8, _F.TYPE_MESSAGE, _OPTIONAL, _BOOL),
                ("max_execution_batch_size", 9, _F.TYPE_MESSAGE, _OPTIONAL, _INT64),
                ("allowed_batch_sizes", 6, _F.TYPE_INT64, _REPEATED, ""),
                ("pad_variable_length_inputs", 7, _F.TYPE_BOOL, _OPTIONAL, ""),
            ],
        )
    ],
}


def _build_config_classes() -> dict:
    """Builds the messages above in a private pool; returns classes by name.

    A private pool keeps the real full names (``tensorflow.serving.*``) without
    clashing with any other definition in the default pool.
    """
    pool = descriptor_pool.DescriptorPool()
    wrappers = descriptor_pb2.FileDescriptorProto()
    wrappers_pb2.DESCRIPTOR.CopyToProto(wrappers)
    pool.Add(wrappers)
    names = []
    for file_name, messages in CONFIG_PROTOS.items():
        file_proto = descriptor_pb2.FileDescriptorProto(
            name=file_name,
            package="tensorflow.serving",
            syntax="proto3",
            dependency=[wrappers.name],
        )
        for message_name, fields in messages:
            names.append(message_name)
            message = file_proto.message_type.add(name=message_name)
            for name, number, field_type, label, type_name in fields:
                field = message.field.add(
                    name=name, number=number, type=field_type, label=label
                )
                if type_name:
                    field.type_name = type_name
        pool.Add(file_proto)
    return {
        name: message_factory.GetMessageClass(
            pool.FindMessageTypeByName(f"tensorflow.serving.{name}")
        )
        for name in names
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
    """Reads --batching_parameters_file (BatchingParameters text proto).

    Parsed as strictly as upstream although the stand-in does not batch.
    """
    return parse_text_proto(path, BatchingParameters())


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
