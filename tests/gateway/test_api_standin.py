"""The gateway's HTTP API in front of the TF Serving STAND-IN (not TF Serving)."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest
import requests
from PIL import Image

from loadtest.loopback import free_ports
from tests.processes import start_server, stop

pytestmark = pytest.mark.standin


def encoded(image: Image.Image, fmt: str) -> bytes:
    """The image encoded as `fmt`."""
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


NOISE_PNG = encoded(
    Image.fromarray(
        np.random.default_rng(2).integers(0, 255, (64, 64), dtype=np.uint8), "L"
    ),
    "PNG",
)


def post(
    url: str, data: bytes, name: str = "upload.png", **params
) -> requests.Response:
    """POST /predict with `data` in multipart field `file`."""
    return requests.post(
        f"{url}/predict", files={"file": (name, data)}, params=params, timeout=30
    )


def test_predict_returns_the_label_of_the_golden_output(
    gateway_url: str, sample_png: bytes, expected_label: str
) -> None:
    reply = post(gateway_url, sample_png)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["model"] == "fashion_mnist"
    assert body["version"] >= 1
    assert len(body["predictions"]) == 3
    assert body["predictions"][0]["label"] == expected_label
    scores = [p["score"] for p in body["predictions"]]
    assert scores == sorted(scores, reverse=True)


def test_top_k_returns_every_class_with_softmax_scores(
    gateway_url: str, sample_png: bytes
) -> None:
    body = post(gateway_url, sample_png, top_k=10).json()
    assert sorted(p["index"] for p in body["predictions"]) == list(range(10))
    assert sum(p["score"] for p in body["predictions"]) == pytest.approx(1.0, abs=1e-4)


def test_a_colour_jpeg_of_another_size_is_resized_and_accepted(
    gateway_url: str,
) -> None:
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 255, size=(96, 64, 3), dtype=np.uint8)
    reply = post(gateway_url, encoded(Image.fromarray(pixels, "RGB"), "JPEG"), "x.jpg")
    assert reply.status_code == 200, reply.text
    assert len(reply.json()["predictions"]) == 3


def test_models_describes_versions_and_the_input_it_builds(gateway_url: str) -> None:
    body = requests.get(f"{gateway_url}/models", timeout=10).json()
    assert body["model"] == "fashion_mnist"
    assert body["input"] == {
        "input_name": "image",
        "dtype": "DT_FLOAT",
        "height": 28,
        "width": 28,
        "channels": 1,
    }
    assert any(v["state"] == "AVAILABLE" for v in body["versions"])


def test_healthz_reports_available_versions(gateway_url: str) -> None:
    reply = requests.get(f"{gateway_url}/healthz", timeout=10)
    assert reply.status_code == 200
    assert reply.json()["available_versions"]


def test_the_upload_page_is_served(gateway_url: str) -> None:
    reply = requests.get(gateway_url, timeout=10)
    assert reply.status_code == 200
    assert 'id="file"' in reply.text and "predict" in reply.text


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        (b"", 400, "the upload is empty"),
        (b"plain text, not a picture", 415, "not an image"),
        (encoded(Image.new("RGB", (8, 8)), "GIF"), 415, "unsupported image format GIF"),
        (encoded(Image.new("I;16", (8, 8)), "PNG"), 415, "unsupported pixel mode"),
        (NOISE_PNG[: len(NOISE_PNG) // 2], 400, "corrupt or truncated"),
    ],
    ids=["empty", "not-an-image", "gif", "16-bit-png", "truncated-png"],
)
def test_bad_uploads_get_a_4xx_naming_the_problem(
    gateway_url: str, data: bytes, status: int, message: str
) -> None:
    reply = post(gateway_url, data)
    assert reply.status_code == status, reply.text
    assert message in reply.json()["error"]


def test_an_upload_over_the_limit_gets_413(gateway_url: str) -> None:
    noise = np.random.default_rng(1).integers(0, 255, (400, 400, 3), dtype=np.uint8)
    data = encoded(Image.fromarray(noise, "RGB"), "PNG")
    assert len(data) > 200_000
    reply = post(gateway_url, data)
    assert reply.status_code == 413
    assert "larger than 200000 bytes" in reply.json()["error"]


def test_a_request_without_the_file_field_gets_400(gateway_url: str) -> None:
    reply = requests.post(
        f"{gateway_url}/predict", files={"picture": ("a.png", b"x")}, timeout=10
    )
    assert reply.status_code == 400
    assert "field 'file'" in reply.json()["error"]


def test_without_tf_serving_healthz_is_503_with_the_target(tmp_path) -> None:
    port, dead = free_ports(2)
    argv = [
        sys.executable,
        "-m",
        "gateway",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--grpc-target",
        f"127.0.0.1:{dead}",
        "--model-name",
        "m",
        "--timeout",
        "2",
    ]
    url = f"http://127.0.0.1:{port}/healthz"
    proc = start_server(argv, url, tmp_path / "gateway.log")
    try:
        reply = requests.get(url, timeout=10)
    finally:
        stop(proc)
    assert reply.status_code == 503
    assert f"127.0.0.1:{dead} answered UNAVAILABLE" in reply.json()["error"]
