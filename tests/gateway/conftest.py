"""Gateway test fixtures: the gateway process in front of the TF Serving STAND-IN.

Typical usage example:

    def test_x(gateway_url, sample_png):
        requests.post(f"{gateway_url}/predict", files={"file": sample_png})
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import requests
from PIL import Image

from loadtest.loopback import free_port
from tests.processes import start_server, stop
from tests.standin_fixtures import (  # noqa: F401  (fixtures used by the tests)
    REPO_ROOT,
    StandinServer,
    standin_fashion_mnist,
    standin_server_factory,
)

READY_TIMEOUT_S = 60


def newest_version(base_path: Path) -> Path:
    """The highest numbered version directory."""
    return max(
        (p for p in base_path.iterdir() if p.name.isdigit()), key=lambda p: int(p.name)
    )


def sample_png_bytes(version_dir: Path, row: int = 0) -> bytes:
    """Renders one instance of the export's sample_request.json as a grayscale PNG."""
    request = json.loads(
        (version_dir / "assets.extra" / "sample_request.json").read_text()
    )
    instance = request["instances"][row]
    pixels = np.asarray(instance["image"] if isinstance(instance, dict) else instance)
    gray = np.clip(np.rint(pixels.reshape(28, 28) * 255.0), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(gray, mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def golden_label(version_dir: Path, row: int = 0) -> str:
    """Class name of the golden output's argmax for that sample row."""
    extra = version_dir / "assets.extra"
    golden = json.loads((extra / "golden_outputs.json").read_text())["predictions"][row]
    scores = golden["probabilities"] if isinstance(golden, dict) else golden
    names = json.loads((extra / "export_metadata.json").read_text())["class_names"]
    return names[int(np.argmax(scores))]


def clearest_row(version_dir: Path) -> int:
    """Sample row whose golden top-1 score leads top-2 the most.

    The PNG rounds pixels to 1/255, so a row with a near-tie could flip its label.
    """
    golden = json.loads(
        (version_dir / "assets.extra" / "golden_outputs.json").read_text()
    )
    margins = []
    for row in golden["predictions"]:
        scores = np.sort(
            np.asarray(row["probabilities"] if isinstance(row, dict) else row)
        )
        margins.append(float(scores[-1] - scores[-2]))
    return int(np.argmax(margins))


@pytest.fixture(scope="session")
def sample_png(fashion_mnist_base_path: Path) -> bytes:
    """PNG of the clearest sample request row of the newest exported version."""
    version = newest_version(fashion_mnist_base_path)
    return sample_png_bytes(version, clearest_row(version))


@pytest.fixture(scope="session")
def expected_label(fashion_mnist_base_path: Path) -> str:
    """The label the model gives that sample (from golden_outputs.json)."""
    version = newest_version(fashion_mnist_base_path)
    return golden_label(version, clearest_row(version))


def start_gateway(server: StandinServer, base_path: Path, log_path: Path, *extra: str):
    """Starts `python -m gateway` against a stand-in; returns (process, url)."""
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "gateway",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--grpc-target",
        server.grpc_target,
        "--model-name",
        server.model_name,
        "--model-base-path",
        str(base_path),
        "--log-level",
        "warning",
        *extra,
    ]
    url = f"http://127.0.0.1:{port}"
    proc = start_server(argv, f"{url}/healthz", log_path)
    health = requests.get(f"{url}/healthz", timeout=10)
    if health.status_code != 200:
        stop(proc)
        pytest.fail(f"gateway unhealthy: {health.text}\n{log_path.read_text()}")
    return proc, url


@pytest.fixture(scope="session")
def gateway_url(
    standin_fashion_mnist: StandinServer,  # noqa: F811
    fashion_mnist_base_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """Base URL of a gateway process in front of the shared stand-in."""
    log_path = tmp_path_factory.mktemp("gateway") / "gateway.log"
    proc, url = start_gateway(
        standin_fashion_mnist,
        fashion_mnist_base_path,
        log_path,
        "--max-upload-bytes",
        "200000",
    )
    yield url
    stop(proc)
