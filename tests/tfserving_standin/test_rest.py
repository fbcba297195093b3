"""REST API of the TF Serving STAND-IN (not TensorFlow Serving) over real sockets."""

import json
import re

import numpy as np
import pytest
import requests

from tests.standin_fixtures import FASHION_MNIST, METRICS_PATH
from tfserving_standin import rest
from tfserving_standin.errors import Code

pytestmark = pytest.mark.standin


def _post(server, suffix: str, body) -> requests.Response:
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return requests.post(f"{server.model_url}{suffix}", data=data, timeout=30)


def test_standin_status_reports_version_1_available(standin_fashion_mnist):
    response = requests.get(standin_fashion_mnist.model_url, timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {
        "model_version_status": [
            {
                "version": "1",
                "state": "AVAILABLE",
                "status": {"error_code": "OK", "error_message": ""},
            }
        ]
    }


def test_standin_metadata_has_tf_serving_shape(standin_fashion_mnist):
    body = requests.get(f"{standin_fashion_mnist.model_url}/metadata", timeout=10)
    assert body.status_code == 200
    meta = body.json()
    assert meta["model_spec"] == {
        "name": FASHION_MNIST,
        "signature_name": "",
        "version": "1",
    }
    signature = meta["metadata"]["signature_def"]["signature_def"]["serving_default"]
    image = signature["inputs"]["image"]
    assert image["dtype"] == "DT_FLOAT"
    assert image["tensor_shape"]["dim"] == [
        {"size": "-1", "name": ""},
        {"size": "28", "name": ""},
        {"size": "28", "name": ""},
        {"size": "1", "name": ""},
    ]
    assert image["tensor_shape"]["unknown_rank"] is False
    probabilities = signature["outputs"]["probabilities"]
    assert [d["size"] for d in probabilities["tensor_shape"]["dim"]] == ["-1", "10"]
    assert signature["method_name"] == "tensorflow/serving/predict"


def test_standin_row_predict_matches_golden_outputs(
    standin_fashion_mnist, sample_request, golden
):
    response = _post(standin_fashion_mnist, ":predict", sample_request)
    assert response.status_code == 200, response.text
    predictions = np.array(response.json()["predictions"])
    np.testing.assert_allclose(
        predictions, np.array(golden["predictions"]), **golden["tolerance"]
    )
    # rapidjson layout: one row per line, rows written on a single line.
    assert response.text.startswith('{\n    "predictions": [[')


def test_standin_columnar_predict_equals_row_predict(
    standin_fashion_mnist, sample_request
):
    row = _post(standin_fashion_mnist, ":predict", sample_request).json()
    columnar = _post(
        standin_fashion_mnist, ":predict", {"inputs": sample_request["instances"]}
    )
    assert columnar.status_code == 200, columnar.text
    assert columnar.json() == {"outputs": row["predictions"]}


def test_standin_versioned_route_predicts(standin_fashion_mnist, sample_request):
    response = _post(standin_fashion_mnist, "/versions/1:predict", sample_request)
    assert response.status_code == 200, response.text


def test_standin_floats_use_tf_serving_format(standin_fashion_mnist, sample_request):
    text = _post(standin_fashion_mnist, ":predict", sample_request).text
    numbers = re.findall(r"-?\d[\d.e+-]*", text.split(":", 1)[1])
    assert numbers
    for number in numbers:
        value = np.float32(number)
        # Six significant digits when they round-trip, else max_digits10 (9).
        six = "%g" % value
        expected = six if np.float32(six) == value else "%.9g" % value
        if "." not in expected and "e" not in expected:
            expected += ".0"
        assert number == expected


@pytest.mark.parametrize(
    ("suffix", "body", "status", "message"),
    [
        pytest.param(
            "UNKNOWN:predict",
            {"instances": [1]},
            404,
            "Servable not found for request: Latest(fashion_mnistUNKNOWN)",
            id="standin-unknown-model",
        ),
        pytest.param(
            "/versions/99:predict",
            {"instances": [1]},
            404,
            "Servable not found for request: Specific(fashion_mnist, 99)",
            id="standin-unknown-version",
        ),
        pytest.param(
            ":predict",
            {"signature_name": "nope", "instances": [1]},
            400,
            'Serving signature name: "nope" not found in signature def',
            id="standin-unknown-signature",
        ),
        pytest.param(
            ":predict",
            {"instances": [{"pixels": [1.0]}]},
            400,
            "Failed to process element: 0 key: pixels of 'instances' list. Error: "
            "INVALID_ARGUMENT: JSON object: does not have named input: pixels",
            id="standin-wrong-input-name",
        ),
        pytest.param(
            ":predict",
            {"inputs": {"pixels": [1.0]}},
            400,
            "Missing named input: image in 'inputs' object.",
            id="standin-missing-columnar-input",
        ),
        pytest.param(
            ":predict",
            {"instances": ["abc"]},
            400,
            "Failed to process element: 0 of 'instances' list. Error: "
            'INVALID_ARGUMENT: JSON Value: "abc" Type: String is not of expected '
            "type: float",
            id="standin-wrong-dtype",
        ),
        pytest.param(
            ":predict",
            {"instances": [[1.0, 2.0], [1.0]]},
            400,
            "Failed to process element: 1 of 'instances' list. Error: "
            "INVALID_ARGUMENT: Expecting tensor size: 2 but got: 1",
            id="standin-ragged-instances",
        ),
        pytest.param(
            ":predict",
            b"{not json",
            400,
            "JSON Parse error: Missing a name for object member. at offset: 1",
            id="standin-malformed-json",
        ),
        pytest.param(
            ":predict",
            b"",
            400,
            "JSON Parse error: The document is empty",
            id="standin-empty-body",
        ),
        pytest.param(
            ":predict",
            {"signature_name": "serving_default"},
            400,
            "Missing 'inputs' or 'instances' key",
            id="standin-no-inputs",
        ),
        pytest.param(
            ":predict",
            {"instances": [1], "inputs": [1]},
            400,
            "Not formatted correctly expecting only one of 'inputs' or 'instances' "
            "keys to exist",
            id="standin-both-formats",
        ),
        pytest.param(
            ":classify",
            {"examples": [{"x": 1}]},
            400,
            "No classification inputs found in SignatureDef",
            id="standin-classify-on-predict-signature",
        ),
    ],
)
def test_standin_rest_errors_match_tf_serving(
    standin_fashion_mnist, suffix, body, status, message
):
    response = _post(standin_fashion_mnist, suffix, body)
    assert response.status_code == status, response.text
    assert message in response.json()["error"]


def test_standin_wrong_shape_is_invalid_argument(standin_fashion_mnist):
    response = _post(standin_fashion_mnist, ":predict", {"instances": [[1.0, 2.0]]})
    assert response.status_code == 400
    assert response.json()["error"]


def test_standin_status_errors(standin_fashion_mnist):
    rest = standin_fashion_mnist.rest_url
    unknown = requests.get(f"{rest}/v1/models/nope", timeout=10)
    assert unknown.status_code == 404
    assert unknown.json() == {"error": "Could not find any versions of model nope"}
    version = requests.get(f"{standin_fashion_mnist.model_url}/versions/7", timeout=10)
    assert version.status_code == 404
    assert (
        version.json()["error"] == f"Could not find version 7 of model {FASHION_MNIST}"
    )
    malformed = requests.get(f"{rest}/v1/foo", timeout=10)
    assert malformed.status_code == 400
    assert malformed.json()["error"] == "Malformed request: GET /v1/foo"
    assert requests.get(f"{rest}/healthz", timeout=10).status_code == 404


def test_standin_rest_path_case_follows_the_dispatcher(
    standin_fashion_mnist, sample_request
):
    """The path regexes are case-insensitive (http_rest_api_util.cc:31-34), but
    ProcessRequest compares the API and sub-resource with lower-case literals
    (http_rest_api_handler.cc:85-104)."""
    rest = standin_fashion_mnist.rest_url
    upper = requests.post(
        f"{rest}/V1/Models/{FASHION_MNIST}:predict",
        data=json.dumps(sample_request),
        timeout=30,
    )
    assert upper.status_code == 200, upper.text
    shouted = _post(standin_fashion_mnist, ":PREDICT", sample_request)
    assert shouted.status_code == 400
    assert shouted.json() == {
        "error": f"Malformed request: POST /v1/models/{FASHION_MNIST}:PREDICT"
    }
    status = requests.get(standin_fashion_mnist.model_url, timeout=10)
    metadata = requests.get(f"{standin_fashion_mnist.model_url}/METADATA", timeout=10)
    assert metadata.status_code == 200
    assert metadata.json() == status.json()
    assert "model_version_status" in metadata.json()


def test_standin_rest_version_digits_are_ascii_only():
    """RE2's \\d matches ASCII digits only; Python's matches any Unicode digit."""
    handler = rest.RestHandler(manager=None, options=None)
    error, output, _, _ = handler.process("GET", "/v1/models/m/versions/\u0661", b"")
    assert error.code == Code.INVALID_ARGUMENT
    assert error.message == "Malformed request: GET /v1/models/m/versions/\u0661"
    assert json.loads(output) == {"error": error.message}


def test_standin_stays_healthy_after_errors(standin_fashion_mnist, sample_request):
    for _ in range(3):
        _post(standin_fashion_mnist, ":predict", b"garbage")
    assert _post(standin_fashion_mnist, ":predict", sample_request).status_code == 200


def test_standin_prometheus_metrics_count_requests(
    standin_fashion_mnist, sample_request
):
    assert _post(standin_fashion_mnist, ":predict", sample_request).ok
    _post(standin_fashion_mnist, "nope:predict", sample_request)
    page = requests.get(f"{standin_fashion_mnist.rest_url}{METRICS_PATH}", timeout=10)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/plain")
    text = page.text
    ok = re.search(
        r'^:tensorflow:serving:request_count\{model_name="fashion_mnist",'
        r'status="OK"\} (\d+)$',
        text,
        re.M,
    )
    assert ok and int(ok.group(1)) >= 1
    assert re.search(
        r'^:tensorflow:serving:request_count\{model_name="fashion_mnistnope",'
        r'status="NOT_FOUND"\} 1$',
        text,
        re.M,
    )
    assert (
        ':tensorflow:serving:request_latency_bucket{model_name="fashion_mnist",'
        'API="predict",entrypoint="REST",le="10"}' in text
    )
    assert "# TYPE :tensorflow:serving:request_latency histogram" in text
