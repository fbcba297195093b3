"""RunConfig.label and grpc_request_bytes(label=...): load one version label."""

from loadtest.engine import RunConfig
from loadtest.payload import grpc_request_bytes, payload_from_request_file
from tests.loadtest.helpers import write_sample_request


def _config(**kw) -> RunConfig:
    return RunConfig("rest", "http://h:8501/", "m", b"{}", b"", 1.0, 1.0, 0.0, **kw)


def test_rest_url_without_a_label_is_the_default_version():
    assert _config().rest_url == "http://h:8501/v1/models/m:predict"


def test_rest_url_with_a_label_predicts_on_that_label():
    assert (
        _config(label="canary").rest_url
        == "http://h:8501/v1/models/m/labels/canary:predict"
    )


def test_grpc_request_carries_the_version_label(tmp_path):
    from tensorflow_serving.apis import predict_pb2

    payload = payload_from_request_file(write_sample_request(tmp_path))
    plain = predict_pb2.PredictRequest.FromString(grpc_request_bytes(payload, "m"))
    assert plain.model_spec.WhichOneof("version_choice") is None
    labelled = predict_pb2.PredictRequest.FromString(
        grpc_request_bytes(payload, "m", label="stable")
    )
    assert labelled.model_spec.version_label == "stable"
    assert labelled.model_spec.signature_name == "serving_default"
