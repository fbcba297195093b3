"""Payload building: REST body once, PredictRequest by hand, loopback wire bytes."""

import base64
import json

import numpy as np
import pytest

from loadtest.loopback import predict_request_bytes, predict_response_bytes
from loadtest.payload import (
    PayloadError,
    find_sample_request,
    grpc_request_bytes,
    payload_from_metadata,
    payload_from_request_file,
)
from tests.loadtest.helpers import write_sample_request
from tfserving_contract import signature, tensors

# One sample value per dtype family, as tfs-smoke's sample_request.json holds them.
_B64 = {"b64": base64.b64encode(b"\xff\xd8\xff jpeg").decode()}
_VALUES = {"DT_STRING": [_B64, _B64], "DT_BOOL": [True, False]}
_FLOATS = {"DT_FLOAT", "DT_DOUBLE", "DT_HALF"}


def _sample_value(dtype: str) -> list:
    return _VALUES.get(dtype, [0.5, 1.5] if dtype in _FLOATS else [1, 2])


def _write(tmp_path, doc: dict, inputs: dict | None = None):
    path = tmp_path / "sample_request.json"
    path.write_text(json.dumps(doc))
    if inputs is not None:
        meta = {"signature_name": "serving_default", "inputs": inputs}
        (tmp_path / "export_metadata.json").write_text(json.dumps(meta))
    return path


def _parsed_inputs(payload) -> dict:
    from tensorflow_serving.apis import predict_pb2

    request = predict_pb2.PredictRequest.FromString(grpc_request_bytes(payload, "m"))
    return dict(request.inputs)


def test_row_request_uses_export_metadata_for_name_and_dtype(tmp_path):
    path = write_sample_request(tmp_path)
    payload = payload_from_request_file(path)
    assert json.loads(payload.rest_body) == json.loads(path.read_text())
    assert b" " not in payload.rest_body
    dtype, array = payload.inputs["image"]
    assert dtype == "DT_FLOAT" and array.shape == (1, 28, 28, 1)
    assert array.dtype == np.float32


def test_predict_request_bytes_parse_back(tmp_path):
    from tensorflow_serving.apis import predict_pb2

    payload = payload_from_request_file(write_sample_request(tmp_path))
    request = predict_pb2.PredictRequest.FromString(grpc_request_bytes(payload, "m"))
    assert request.model_spec.name == "m"
    assert request.model_spec.signature_name == "serving_default"
    tensor = request.inputs["image"]
    assert [d.size for d in tensor.tensor_shape.dim] == [1, 28, 28, 1]
    values = np.frombuffer(tensor.tensor_content, dtype=np.float32)
    assert values.size == 784 and np.all(values == 0.5)


def test_hand_encoded_loopback_messages_are_valid_protos():
    from tensorflow_serving.apis import predict_pb2

    response = predict_pb2.PredictResponse.FromString(predict_response_bytes("lb"))
    out = response.outputs["probabilities"]
    assert [d.size for d in out.tensor_shape.dim] == [1, 10]
    assert list(out.float_val) == pytest.approx([0.1] * 10)
    assert response.model_spec.name == "lb" and response.model_spec.version.value == 1
    request = predict_pb2.PredictRequest.FromString(predict_request_bytes("lb"))
    assert len(request.inputs["image"].tensor_content) == 4 * 784


def test_payload_from_rest_metadata(loopback):
    payload = payload_from_metadata(loopback.rest_target, loopback.model_name)
    assert payload.inputs["image"][1].shape == (1, 28, 28, 1)
    assert len(json.loads(payload.rest_body)["instances"]) == 1


def test_find_sample_request_picks_newest_numeric_version(tmp_path):
    for version in ("1", "3", "tmp-4"):
        write_sample_request(tmp_path / version / "assets.extra")
    assert find_sample_request(tmp_path).parts[-3] == "3"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "not found"),
        ("{not json", "not valid JSON"),
        ('{"instances": [[1.0]]}', "pass --input-name"),
        ('{"foo": 1}', "'instances' or 'inputs'"),
    ],
)
def test_bad_request_files_name_the_problem(tmp_path, content, message):
    path = tmp_path / "req.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(PayloadError, match=message):
        payload_from_request_file(path)


@pytest.mark.parametrize("dtype", sorted(signature.DTYPES))
def test_every_dtype_tfs_smoke_accepts_builds_both_wire_forms(tmp_path, dtype):
    values = _sample_value(dtype)
    doc = {"signature_name": "serving_default", "instances": values}
    path = _write(tmp_path, doc, {"x": {"dtype": dtype, "shape": [-1]}})
    payload = payload_from_request_file(path)
    assert json.loads(payload.rest_body) == doc
    got_dtype, array = payload.inputs["x"]
    assert got_dtype == dtype and array.shape == (2,)
    proto = _parsed_inputs(payload)["x"]
    assert tensors.dtype_name(proto) == dtype
    np.testing.assert_array_equal(tensors.from_proto(proto), array)


def test_b64_strings_are_sent_as_bytes_over_grpc_and_verbatim_over_rest(tmp_path):
    """Regression: tfs-load failed with "unsupported dtype 'DT_STRING'" on the
    ResNet export's sample request."""
    jpeg = b"\xff\xd8\xff\x00 not utf-8 \x80"
    row = {"b64": base64.b64encode(jpeg).decode()}
    doc = {"signature_name": "serving_default", "instances": [row]}
    path = _write(tmp_path, doc, {"image_bytes": {"dtype": "DT_STRING", "shape": [-1]}})
    payload = payload_from_request_file(path)
    assert json.loads(payload.rest_body)["instances"] == [row]
    proto = _parsed_inputs(payload)["image_bytes"]
    assert list(proto.string_val) == [jpeg]
    assert [d.size for d in proto.tensor_shape.dim] == [1]


def test_without_metadata_values_are_typed_like_tfs_smoke(tmp_path):
    doc = {"instances": [{"text": "caf\u00e9", "n": 3, "ok": True, "x": 0.5}]}
    payload = payload_from_request_file(_write(tmp_path, doc))
    assert {k: v[0] for k, v in payload.inputs.items()} == {
        "text": "DT_STRING",
        "n": "DT_INT64",
        "ok": "DT_BOOL",
        "x": "DT_FLOAT",
    }
    assert payload.inputs["text"][1].tolist() == ["caf\u00e9".encode()]


def test_unnamed_values_need_a_name_only_without_metadata(tmp_path):
    path = _write(tmp_path, {"inputs": [[1, 2]]})
    payload = payload_from_request_file(path, input_name="ids")
    assert payload.inputs["ids"][0] == "DT_INT64"


def test_dtype_override_converts_numbers_and_refuses_strings(tmp_path):
    doc = {"instances": [[1.0, 2.0]]}
    path = _write(tmp_path, doc, {"x": {"dtype": "DT_FLOAT", "shape": [-1, 2]}})
    dtype, array = payload_from_request_file(path, dtype="int32").inputs["x"]
    assert dtype == "DT_INT32" and array.dtype == np.int32
    with pytest.raises(PayloadError, match="cannot convert input 'x'"):
        payload_from_request_file(path, dtype="DT_STRING")
    with pytest.raises(PayloadError, match="unknown dtype|unsupported dtype"):
        payload_from_request_file(path, dtype="complex64")


def test_zero_request_from_metadata_sends_empty_strings_as_b64(monkeypatch):
    from tests.smoke_tests.helpers import rest_metadata

    body = rest_metadata(
        {"image_bytes": ("DT_STRING", [-1])}, {"classes": ("DT_INT64", [-1])}
    )

    class Reply:
        @staticmethod
        def raise_for_status():
            return None

        @staticmethod
        def json():
            return body

    monkeypatch.setattr("loadtest.payload.requests.get", lambda url, timeout: Reply)
    payload = payload_from_metadata("http://127.0.0.1:1", "resnet")
    assert json.loads(payload.rest_body)["instances"] == [{"b64": ""}]
    assert list(_parsed_inputs(payload)["image_bytes"].string_val) == [b""]
