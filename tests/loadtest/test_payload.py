"""Payload building: REST body once, PredictRequest by hand, loopback wire bytes."""

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
        ('{"instances": [[1.0]]}', "input name"),
        ('{"foo": 1}', "'instances' or 'inputs'"),
    ],
)
def test_bad_request_files_name_the_problem(tmp_path, content, message):
    path = tmp_path / "req.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(PayloadError, match=message):
        payload_from_request_file(path)
