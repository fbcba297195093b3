"""TF Serving's ResNet tutorial clients, unchanged, against the STAND-IN.

The server here is the TF Serving STAND-IN (not TensorFlow Serving) serving
`tfs-export resnet50 --image-bytes-signature` as model "resnet". The tests speak
exactly as the published clients do (tensorflow/serving, in the history of tag
2.20.0), so they show the export's signature fits them; they say nothing about
TensorFlow Serving itself:

- REST, `tensorflow_serving/example/resnet_client.py`: the body is the string
  `{"instances" : [{"b64": "<base64 JPEG>"}]}` posted with `data=` (no JSON
  content type), three warm-up posts, `raise_for_status()`, then
  `response.json()['predictions'][0]` and its `['classes']` (the JPEG client
  before commit cb28fcab; at 2.20.0 the same body is the MODEL_ACCEPT_JPG branch).
- gRPC, `resnet_client_grpc.py` before commit bb1428d5: model "resnet",
  signature "serving_default", input `image_bytes` =
  `tf.make_tensor_proto(jpeg, shape=[1])`, a 10 s deadline; the answer is the
  one `g3doc/serving_kubernetes.md` shows at 2.20.0 (`classes` DT_INT64 [1],
  `probabilities` DT_FLOAT [1, N]).

Typical usage example:

    pytest -m standin tests/model_export/test_tutorial_clients_standin.py
"""

import base64
import io

import numpy as np
import pytest
import requests

pytestmark = [pytest.mark.standin, pytest.mark.slow]

WARMUP_REQUESTS = 3
TIMED_REQUESTS = 10
CLASSES = 1000


def _jpeg(width: int = 80, height: int = 60) -> bytes:
    """A photo-sized-ratio JPEG (not the model's square input size)."""
    from PIL import Image

    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG")
    return buffer.getvalue()


def test_standin_rest_tutorial_client_reads_predictions_0_classes(standin_resnet):
    server_url = f"{standin_resnet.rest_url}/v1/models/resnet:predict"
    jpeg_bytes = base64.b64encode(_jpeg()).decode("utf-8")
    predict_request = '{"instances" : [{"b64": "%s"}]}' % jpeg_bytes
    for _ in range(WARMUP_REQUESTS):
        response = requests.post(server_url, data=predict_request, timeout=60)
        response.raise_for_status()
    for _ in range(TIMED_REQUESTS):
        response = requests.post(server_url, data=predict_request, timeout=60)
        response.raise_for_status()
        prediction = response.json()["predictions"][0]
    assert isinstance(prediction["classes"], int)
    assert 0 <= prediction["classes"] < CLASSES
    assert len(prediction["probabilities"]) == CLASSES
    assert prediction["classes"] == int(np.argmax(prediction["probabilities"]))


def test_standin_grpc_tutorial_client_gets_classes_and_probabilities(
    standin_resnet,
):
    import grpc
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    data = _jpeg()
    channel = grpc.insecure_channel(standin_resnet.grpc_target)
    try:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        request = predict_pb2.PredictRequest()
        request.model_spec.name = "resnet"
        request.model_spec.signature_name = "serving_default"
        request.inputs["image_bytes"].CopyFrom(tf.make_tensor_proto(data, shape=[1]))
        result = stub.Predict(request, 10.0)
    finally:
        channel.close()
    classes = result.outputs["classes"]
    probabilities = result.outputs["probabilities"]
    assert tf.dtypes.as_dtype(classes.dtype) == tf.int64
    assert [d.size for d in classes.tensor_shape.dim] == [1]
    assert tf.dtypes.as_dtype(probabilities.dtype) == tf.float32
    assert [d.size for d in probabilities.tensor_shape.dim] == [1, CLASSES]
    assert list(classes.int64_val) == [int(np.argmax(probabilities.float_val))]
    assert result.model_spec.name == "resnet"
    assert result.model_spec.version.value == 1
    assert result.model_spec.signature_name == "serving_default"
