"""gRPC API of the TF Serving STAND-IN (not TensorFlow Serving)."""

import grpc
import numpy as np
import pytest
import requests
import tensorflow as tf
from tensorflow_serving.apis import (
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)

from tests.standin_fixtures import FASHION_MNIST

pytestmark = pytest.mark.standin


@pytest.fixture(scope="module")
def channel(standin_fashion_mnist):
    with grpc.insecure_channel(standin_fashion_mnist.grpc_target) as chan:
        yield chan


def _request(sample_request, model=FASHION_MNIST) -> predict_pb2.PredictRequest:
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    request.model_spec.signature_name = "serving_default"
    array = np.array(sample_request["instances"], dtype=np.float32)
    request.inputs["image"].CopyFrom(tf.make_tensor_proto(array))
    return request


def _rows(request: predict_pb2.PredictRequest):
    """The first dimension of the request's image tensor."""
    return request.inputs["image"].tensor_shape.dim[0]


def test_standin_grpc_predict_matches_golden(channel, sample_request, golden):
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    response = stub.Predict(_request(sample_request), timeout=30)
    assert response.model_spec.name == FASHION_MNIST
    assert response.model_spec.version.value == 1
    assert response.model_spec.signature_name == "serving_default"
    output = response.outputs["probabilities"]
    assert output.float_val, "TF Serving answers with typed *_val fields"
    np.testing.assert_allclose(
        tf.make_ndarray(output), np.array(golden["predictions"]), **golden["tolerance"]
    )


def test_standin_grpc_and_rest_agree(channel, standin_fashion_mnist, sample_request):
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    grpc_out = tf.make_ndarray(
        stub.Predict(_request(sample_request), timeout=30).outputs["probabilities"]
    )
    rest_out = requests.post(
        f"{standin_fashion_mnist.model_url}:predict", json=sample_request, timeout=30
    ).json()["predictions"]
    np.testing.assert_allclose(grpc_out, np.array(rest_out, dtype=np.float32), rtol=0)


def test_standin_grpc_metadata_packs_signature_def_map(channel):
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    request = get_model_metadata_pb2.GetModelMetadataRequest(
        metadata_field=["signature_def"]
    )
    request.model_spec.name = FASHION_MNIST
    response = stub.GetModelMetadata(request, timeout=10)
    assert response.model_spec.version.value == 1
    signatures = get_model_metadata_pb2.SignatureDefMap()
    assert response.metadata["signature_def"].Unpack(signatures)
    serving = signatures.signature_def["serving_default"]
    assert serving.inputs["image"].dtype == tf.float32.as_datatype_enum
    assert "probabilities" in serving.outputs


def test_standin_grpc_model_status(channel):
    stub = model_service_pb2_grpc.ModelServiceStub(channel)
    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = FASHION_MNIST
    (status,) = stub.GetModelStatus(request, timeout=10).model_version_status
    assert status.version == 1
    assert status.state == get_model_status_pb2.ModelVersionStatus.AVAILABLE
    assert status.status.error_code == 0


@pytest.mark.parametrize(
    ("mutate", "code", "message"),
    [
        pytest.param(
            lambda r: setattr(r.model_spec, "name", "nope"),
            grpc.StatusCode.NOT_FOUND,
            "Servable not found for request: Latest(nope)",
            id="standin-grpc-unknown-model",
        ),
        pytest.param(
            lambda r: r.inputs["extra"].CopyFrom(tf.make_tensor_proto([1.0])),
            grpc.StatusCode.INVALID_ARGUMENT,
            "input size does not match signature: 2!=1 len({extra,image}) != "
            "len({image}). Sent extra: {extra}. Missing but required: {}.",
            id="standin-grpc-extra-input",
        ),
        pytest.param(
            lambda r: setattr(r.model_spec, "signature_name", "nope"),
            grpc.StatusCode.FAILED_PRECONDITION,
            'Serving signature key "nope" not found.',
            id="standin-grpc-unknown-signature",
        ),
        pytest.param(
            lambda r: r.inputs["image"].CopyFrom(
                tf.make_tensor_proto(np.zeros((1, 28, 28, 1), np.int32))
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            "Type mismatch: actual int32 vs. expect float",
            id="standin-grpc-wrong-dtype",
        ),
        pytest.param(
            lambda r: setattr(_rows(r), "size", -1),
            grpc.StatusCode.INVALID_ARGUMENT,
            # tensorflow/cc/saved_model/util.cc GetInputValues, when
            # Tensor::FromProto refuses the shape (TensorShape::IsValid).
            "tensor parsing error: image",
            id="standin-grpc-negative-dimension",
        ),
        pytest.param(
            lambda r: setattr(_rows(r), "size", _rows(r).size + 1),
            grpc.StatusCode.INVALID_ARGUMENT,
            "tensor parsing error: image",
            id="standin-grpc-content-shorter-than-shape",
        ),
    ],
)
def test_standin_grpc_errors(channel, sample_request, mutate, code, message):
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    request = _request(sample_request)
    mutate(request)
    with pytest.raises(grpc.RpcError) as caught:
        stub.Predict(request, timeout=30)
    assert caught.value.code() == code
    assert message in caught.value.details()
