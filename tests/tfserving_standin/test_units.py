"""Unit tests of the TF Serving STAND-IN's flag parser, JSON rules and metrics
(no server process; nothing here is a claim about TensorFlow Serving)."""

import json

import numpy as np
import pytest
from tensorflow.core.framework import types_pb2
from tensorflow_serving.config import model_server_config_pb2

from tfserving_standin import cli, json_tensor, metrics
from tfserving_standin.config import (
    parse_grpc_channel_arguments,
    validate_model_config_list,
)
from tfserving_standin.errors import Code, ServingError, http_status
from tfserving_standin.jsonwriter import error_body, format_tf_float

pytestmark = pytest.mark.standin


def test_standin_flags_use_tensorflow_flag_syntax():
    parsed = cli.parse_flags(
        [
            "--port=9000",
            "--rest_api_port=9001",
            "--model_name=m",
            "--model_base_path=/models/m",
            "--enable_batching",
            "--enable_model_warmup=false",
            "--model_config_file_poll_wait_seconds=5",
        ]
    )
    assert parsed.ok and not parsed.unknown
    options = parsed.options
    assert (options.grpc_port, options.http_port) == (9000, 9001)
    assert options.enable_batching is True
    assert options.enable_model_warmup is False
    assert options.fs_model_config_poll_wait_seconds == 5
    assert options.model_config_file == ""


def test_standin_flags_with_space_are_unknown_like_the_real_binary():
    parsed = cli.parse_flags(["--port", "9000"])
    assert parsed.ok
    assert parsed.unknown == ["--port", "9000"]
    assert parsed.options.grpc_port == 8500


@pytest.mark.parametrize(
    "argv",
    [
        ["--port=abc"],
        ["--enable_batching=yes"],
        ["--help"],
        # sscanf("%d%c") / ("%f%c") must consume everything but leading space.
        ["--port=8500\n"],
        ["--port=8_500"],
        ["--per_process_gpu_memory_fraction=0.5 "],
        ["--per_process_gpu_memory_fraction=0_5"],
    ],
)
def test_standin_bad_flag_values_fail(argv):
    assert cli.parse_flags(argv).ok is False


def test_standin_numeric_flags_take_leading_space_like_sscanf():
    parsed = cli.parse_flags(
        ["--port= 9000", "--per_process_gpu_memory_fraction=\t.25e0"]
    )
    assert parsed.ok and not parsed.unknown
    assert parsed.options.grpc_port == 9000
    assert parsed.options.per_process_gpu_memory_fraction == 0.25


def test_standin_cli_prints_usage_and_returns_255_on_bad_value(capsys):
    assert cli.main(["--port=x"]) == 255
    assert "--rest_api_timeout_in_ms=30000" in capsys.readouterr().out


def test_standin_every_upstream_flag_is_known():
    names = {flag.name for flag in cli.FLAGS}
    for name in (
        "port",
        "rest_api_port",
        "model_config_file_poll_wait_seconds",
        "file_system_poll_wait_seconds",
        "monitoring_config_file",
        "grpc_channel_arguments",
        "enable_grpc_healthcheck_service",
        "allow_version_labels_for_unavailable_models",
        "num_load_threads",
        "tensorflow_intra_op_parallelism",
    ):
        assert name in names


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.5, "0.5"),
        (1.0, "1.0"),
        (3.0, "3.0"),
        (1e-05, "1e-05"),
        (9000000.0, "9e+06"),
        (0.1234567, "0.123456702"),
        (float("nan"), "NaN"),
        (float("-inf"), "-Infinity"),
    ],
)
def test_standin_float_format_matches_json_tensor(value, text):
    assert format_tf_float(float(np.float32(value))) == text


def test_standin_row_and_columnar_layout():
    outputs = {"y": np.array([[1.0, 0.5], [2.0, 0.25]], dtype=np.float32)}
    assert json_tensor.outputs_to_json(outputs, json_tensor.ROW) == (
        '{\n    "predictions": [[1.0, 0.5], [2.0, 0.25]\n    ]\n}'
    )
    columnar = json_tensor.outputs_to_json(outputs, json_tensor.COLUMNAR)
    assert json.loads(columnar) == {"outputs": [[1.0, 0.5], [2.0, 0.25]]}
    assert columnar.startswith('{\n    "outputs": [\n        [\n            1.0,')


def test_standin_bytes_outputs_are_base64():
    outputs = {"k_bytes": np.array([b"\x00\x01"], dtype=object)}
    text = json_tensor.outputs_to_json(outputs, json_tensor.ROW)
    assert json.loads(text) == {"predictions": [{"b64": "AAE="}]}


def test_standin_b64_inputs_decode_for_strings():
    arrays, fmt = json_tensor.inputs_from_json(
        {"instances": [{"b64": "aGk="}, "plain"]}, {"s": types_pb2.DT_STRING}, ""
    )
    assert fmt == json_tensor.ROW
    assert arrays["s"].tolist() == [b"hi", b"plain"]


def test_standin_fast_path_keeps_type_checks():
    dtypes = {"x": types_pb2.DT_FLOAT}
    with pytest.raises(ServingError) as caught:
        json_tensor.inputs_from_json(
            {"instances": [1.0, True]}, dtypes, "", b'{"instances": [1.0, true]}'
        )
    assert "Type: True is not of expected type: float" in caught.value.message
    ints = {"x": types_pb2.DT_INT32}
    with pytest.raises(ServingError):
        json_tensor.inputs_from_json({"inputs": [1, 2.5]}, ints, "")


def test_standin_error_body_and_status_mapping():
    assert error_body('bad "x"') == '{\n    "error": "bad \\"x\\""\n}'
    assert http_status(Code.NOT_FOUND) == 404
    assert http_status(Code.FAILED_PRECONDITION) == 400
    assert http_status(Code.RESOURCE_EXHAUSTED) == 429
    assert http_status(Code.UNIMPLEMENTED) == 501
    assert http_status(Code.DEADLINE_EXCEEDED) == 504


def test_standin_prometheus_page_format():
    registry = metrics.Registry()
    registry.record_request("m", "OK")
    registry.record_request_latency("m", "predict", "REST", 15)
    page = registry.prometheus_page()
    assert ':tensorflow:serving:request_count{model_name="m",status="OK"} 1' in page
    bucket = ':tensorflow:serving:request_latency_bucket{model_name="m",API="predict"'
    assert f'{bucket},entrypoint="REST",le="10"}} 0' in page
    assert f'{bucket},entrypoint="REST",le="18"}} 1' in page
    assert f'{bucket},entrypoint="REST",le="+Inf"}} 1' in page
    assert (
        'request_latency_sum{model_name="m",API="predict",entrypoint="REST"} 15' in page
    )


def test_standin_grpc_channel_arguments_parse_like_server_cc():
    assert parse_grpc_channel_arguments(
        "grpc.max_connection_age_ms=2000,grpc.lb_policy_name=round_robin"
    ) == [("grpc.max_connection_age_ms", 2000), ("grpc.lb_policy_name", "round_robin")]
    assert parse_grpc_channel_arguments("") == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"name": "m", "base_path": "/models/m"},
            "Illegal setting neither ModelServerConfig::model_type (deprecated) nor "
            "ModelServerConfig::model_platform, model name is m",
        ),
        (
            {"name": "m", "base_path": "models/m", "model_platform": "tensorflow"},
            "Expected model m to have an absolute path or URI; got "
            "base_path()=models/m",
        ),
        (
            {"name": "m", "base_path": "/m", "model_platform": "onnx"},
            "Model m requests unsupported platform onnx",
        ),
    ],
)
def test_standin_models_config_validation(fields, message):
    config = model_server_config_pb2.ModelServerConfig()
    config.model_config_list.config.add(**fields)
    with pytest.raises(ServingError) as caught:
        validate_model_config_list(config)
    assert caught.value.message == message


def test_standin_settle_heap_freezes_and_frees_an_unloaded_versions_cycles():
    import gc
    import weakref

    from tfserving_standin.manager import settle_heap

    class Node:
        pass

    node = Node()
    node.self = node
    alive = weakref.ref(node)
    try:
        settle_heap(collect=False)
        assert gc.get_freeze_count() > 0
        del node
        gc.collect()
        assert alive() is not None, "a frozen cycle is out of the collector's reach"
        settle_heap(collect=True)
        assert alive() is None
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
