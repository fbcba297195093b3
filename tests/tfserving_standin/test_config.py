"""Text-proto config files of the TF Serving STAND-IN (not TensorFlow Serving).

tensorflow_model_server reads models.config, the batching parameters, the
monitoring and SSL configs with ParseProtoTextFile (util/proto_util.h:26-40 at
2.20.0): ``TextFormat::ParseFromString``, which refuses unknown fields, values
of the wrong type or range and repeated singular fields, and then answers
only ``Invalid protobuf file: '<path>'`` (the parser's reason goes to the log).
"""

import logging
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2
from tensorflow_serving.config import model_server_config_pb2

from tfserving_standin import config
from tfserving_standin.errors import Code, ServingError

pytestmark = pytest.mark.standin

_T = descriptor_pb2.FieldDescriptorProto
_MSG, _I64, _BOOL, _STR = _T.TYPE_MESSAGE, _T.TYPE_INT64, _T.TYPE_BOOL, _T.TYPE_STRING

# Field name -> (number, type, repeated) as declared at tensorflow/serving 2.20.0.
PROTOS_2_20_0 = {
    # servables/tensorflow/session_bundle_config.proto message BatchingParameters
    "tensorflow.serving.BatchingParameters": {
        "max_batch_size": (1, _MSG, False),
        "batch_timeout_micros": (2, _MSG, False),
        "max_enqueued_batches": (3, _MSG, False),
        "num_batch_threads": (4, _MSG, False),
        "thread_pool_name": (5, _MSG, False),
        "allowed_batch_sizes": (6, _I64, True),
        "pad_variable_length_inputs": (7, _BOOL, False),
        "enable_large_batch_splitting": (8, _MSG, False),
        "max_execution_batch_size": (9, _MSG, False),
    },
    # config/monitoring_config.proto
    "tensorflow.serving.MonitoringConfig": {"prometheus_config": (1, _MSG, False)},
    "tensorflow.serving.PrometheusConfig": {
        "enable": (1, _BOOL, False),
        "path": (2, _STR, False),
    },
    # config/ssl_config.proto
    "tensorflow.serving.SSLConfig": {
        "server_key": (1, _STR, False),
        "server_cert": (2, _STR, False),
        "custom_ca": (3, _STR, False),
        "client_verify": (4, _BOOL, False),
    },
    # config/model_server_config.proto (from the tensorflow-serving-api package)
    "tensorflow.serving.ModelServerConfig": {
        "model_config_list": (1, _MSG, False),
        "custom_model_config": (2, _MSG, False),
    },
    "tensorflow.serving.ModelConfigList": {"config": (1, _MSG, True)},
    "tensorflow.serving.ModelConfig": {
        "name": (1, _STR, False),
        "base_path": (2, _STR, False),
        "model_type": (3, _T.TYPE_ENUM, False),
        "model_platform": (4, _STR, False),
        "logging_config": (6, _MSG, False),
        "model_version_policy": (7, _MSG, False),
        "version_labels": (8, _MSG, True),
    },
    # config/file_system_storage_path_source.proto
    "tensorflow.serving.FileSystemStoragePathSourceConfig.ServableVersionPolicy": {
        "latest": (100, _MSG, False),
        "all": (101, _MSG, False),
        "specific": (102, _MSG, False),
    },
    "tensorflow.serving.FileSystemStoragePathSourceConfig.ServableVersionPolicy."
    "Latest": {"num_versions": (1, _T.TYPE_UINT32, False)},
    "tensorflow.serving.FileSystemStoragePathSourceConfig.ServableVersionPolicy."
    "Specific": {"versions": (1, _I64, True)},
    # config/logging_config.proto, config/log_collector_config.proto
    "tensorflow.serving.LoggingConfig": {
        "log_collector_config": (1, _MSG, False),
        "sampling_config": (2, _MSG, False),
        "custom_logging_config": (3, _MSG, False),
    },
    "tensorflow.serving.SamplingConfig": {
        "sampling_rate": (1, _T.TYPE_DOUBLE, False),
        "attributes": (2, _T.TYPE_INT32, False),
        "per_task_sampling_configs": (3, _MSG, True),
    },
    "tensorflow.serving.LogCollectorConfig": {
        "type": (1, _STR, False),
        "filename_prefix": (2, _STR, False),
    },
}


def _declared_messages() -> dict:
    found = {}

    def walk(descriptor) -> None:
        if descriptor.full_name in found or descriptor.GetOptions().map_entry:
            return
        proto = descriptor_pb2.DescriptorProto()
        descriptor.CopyToProto(proto)
        found[descriptor.full_name] = {
            f.name: (f.number, f.type, f.label == _T.LABEL_REPEATED)
            for f in proto.field
        }
        for field in descriptor.fields:
            if field.message_type is not None:
                walk(field.message_type)

    for message in (
        config.BatchingParameters,
        config.MonitoringConfig,
        config.SSLConfig,
        model_server_config_pb2.ModelServerConfig,
    ):
        walk(message.DESCRIPTOR)
    return found


@pytest.mark.parametrize("name", sorted(PROTOS_2_20_0))
def test_standin_config_protos_declare_the_2_20_0_fields(name):
    assert _declared_messages()[name] == PROTOS_2_20_0[name]


def _write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "file.config"
    path.write_text(text)
    return str(path)


def test_standin_batching_parameters_take_every_2_20_0_field(tmp_path):
    path = _write(
        tmp_path,
        "max_batch_size { value: 32 }\n"
        "batch_timeout_micros { value: 500 }\n"
        "max_enqueued_batches { value: 100 }\n"
        "num_batch_threads { value: 4 }\n"
        'thread_pool_name { value: "batch_threads" }\n'
        "enable_large_batch_splitting { value: true }\n"
        "max_execution_batch_size { value: 16 }\n"
        "allowed_batch_sizes: [8, 16, 32]\n"
        "pad_variable_length_inputs: true\n",
    )
    params = config.read_batching_parameters(path)
    assert params.max_batch_size.value == 32
    assert params.enable_large_batch_splitting.value is True
    assert list(params.allowed_batch_sizes) == [8, 16, 32]


BAD_FILES = {
    "batching-unknown-field": (
        config.read_batching_parameters,
        "max_batch_size { value: 32 }\nmax_batch_sizes { value: 1 }\n",
        'Message type "tensorflow.serving.BatchingParameters" has no field named '
        '"max_batch_sizes".',
    ),
    "batching-int64-without-wrapper": (
        config.read_batching_parameters,
        "max_batch_size: 32\n",
        'Expected "{".',
    ),
    "batching-int64-out-of-range": (
        config.read_batching_parameters,
        "batch_timeout_micros { value: 9223372036854775808 }\n",
        "Value out of range: 9223372036854775808",
    ),
    "batching-unknown-field-in-wrapper": (
        config.read_batching_parameters,
        "num_batch_threads { value: 4 threads: 2 }\n",
        'Message type "google.protobuf.Int64Value" has no field named "threads".',
    ),
    "batching-singular-field-twice": (
        config.read_batching_parameters,
        "max_batch_size { value: 1 }\nmax_batch_size { value: 2 }\n",
        'should not have multiple "max_batch_size" fields',
    ),
    "batching-bool-word": (
        config.read_batching_parameters,
        "pad_variable_length_inputs: yes\n",
        'Expected "true" or "false".',
    ),
    "monitoring-unknown-field": (
        config.read_monitoring_config,
        'prometheus_config { enable: true, path: "/m", port: 9100 }\n',
        'Message type "tensorflow.serving.PrometheusConfig" has no field named "port".',
    ),
    "ssl-unknown-field": (
        config.read_ssl_config,
        'server_key: "k"\nserver_crt: "c"\n',
        'Message type "tensorflow.serving.SSLConfig" has no field named "server_crt".',
    ),
    "models-config-unknown-field": (
        config.read_model_server_config,
        "model_config_list { config { name: 'm' base_path: '/m' "
        "model_platform: 'tensorflow' version_label { key: 'a' value: 1 } } }\n",
        'Message type "tensorflow.serving.ModelConfig" has no field named '
        '"version_label".',
    ),
    "models-config-negative-num-versions": (
        config.read_model_server_config,
        "model_config_list { config { name: 'm' base_path: '/m' "
        "model_version_policy { latest { num_versions: -1 } } } }\n",
        "Value out of range: -1",
    ),
    "models-config-two-policies-of-a-oneof": (
        config.read_model_server_config,
        "model_config_list { config { name: 'm' base_path: '/m' "
        "model_version_policy { latest { } all { } } } }\n",
        "oneof",
    ),
    "models-config-label-not-int64": (
        config.read_model_server_config,
        "model_config_list { config { name: 'm' base_path: '/m' "
        "version_labels { key: 'stable' value: 'one' } } }\n",
        "Couldn't parse integer",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_standin_text_protos_are_parsed_strictly(name, tmp_path, caplog):
    """Regression: unknown batching fields used to be accepted."""
    read, text, reason = BAD_FILES[name]
    path = _write(tmp_path, text)
    with caplog.at_level(logging.ERROR, logger="tfserving_standin.config"):
        with pytest.raises(ServingError) as caught:
            read(path)
    assert caught.value.code == Code.INVALID_ARGUMENT
    # proto_util.h:37-38: the status carries only the file name.
    assert caught.value.message == f"Invalid protobuf file: '{path}'"
    assert "Error parsing text-format tensorflow.serving." in caplog.text
    assert reason in caplog.text


def test_standin_missing_config_file_is_not_found(tmp_path):
    missing = str(tmp_path / "absent.config")
    with pytest.raises(ServingError) as caught:
        config.read_batching_parameters(missing)
    assert caught.value.code == Code.NOT_FOUND
    assert caught.value.message.startswith(f"{missing}; No such file or directory")


def test_standin_server_refuses_an_unknown_batching_field(
    standin_server_factory, fashion_mnist_base_path, tmp_path
):
    """server.cc:229-241 (2.20.0) parses --batching_parameters_file before any
    model loads; main.cc:342-345 prints the status and exits -1 (255)."""
    path = _write(tmp_path, "max_batch_size { value: 8 }\nbatch_timeout_ms: 5\n")
    server = standin_server_factory(
        fashion_mnist_base_path,
        "--enable_batching",
        f"--batching_parameters_file={path}",
        wait_ready=False,
    )
    assert server.process.wait(timeout=120) == 255
    logs = server.logs()
    assert (
        f"Failed to start server. Error: INVALID_ARGUMENT: Invalid protobuf file: "
        f"'{path}'" in logs
    )
    assert 'has no field named "batch_timeout_ms"' in logs


def test_standin_reads_models_config_before_the_batching_file(
    standin_server_factory, tmp_path
):
    """server.cc:213-217 reads --model_config_file before the batching block
    (229-241), so a bad models.config is the error reported."""
    models = tmp_path / "models.config"
    models.write_text("model_config_list { config { name: 'm' basepath: '/m' } }\n")
    batching = _write(tmp_path, "bogus: 1\n")
    server = standin_server_factory(
        None,
        f"--model_config_file={models}",
        "--enable_batching",
        f"--batching_parameters_file={batching}",
        model_name="m",
        wait_ready=False,
    )
    assert server.process.wait(timeout=120) == 255
    assert f"Invalid protobuf file: '{models}'" in server.logs()
