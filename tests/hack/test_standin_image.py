"""The locally built TF Serving STAND-IN image serves a model (tests only).

Runs the image that hack/build-standin-image.sh built, with the session's
fashion-MNIST fixture mounted at /models, on loopback ports. This checks the
image (shim, user, labels, packages); it says nothing about TensorFlow Serving.

Typical usage example:

    make standin-image && .venv/bin/python -m pytest tests/hack/test_standin_image.py
"""

import json
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_SECONDS = 180


def versions() -> dict[str, str]:
    pairs = (
        line.split("=", 1)
        for line in (REPO_ROOT / "hack" / "versions.env").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    return {key.strip(): value.strip() for key, value in pairs}


IMAGE = f"tfserving-standin:{versions()['TFS_STANDIN_TAG']}"


def docker(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def image_present() -> bool:
    try:
        return docker("image", "inspect", IMAGE, timeout=15).returncode == 0
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return False


pytestmark = [
    pytest.mark.standin,
    pytest.mark.slow,
    pytest.mark.skipif(
        not image_present(),
        reason=f"{IMAGE} not built (make standin-image) or no Docker daemon",
    ),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def readable_models(
    fashion_mnist_base_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A world-readable copy of the fixture: pytest's temp dirs are mode 0700 and
    the container runs as uid 1000."""
    models = tmp_path_factory.mktemp("standin-image-models")
    shutil.copytree(fashion_mnist_base_path, models / "fashion_mnist")
    for path in [models, *models.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    return models


@pytest.fixture(scope="module")
def standin_container(readable_models: Path) -> Iterator[dict]:
    """The stand-in image serving the fixture model; removed afterwards."""
    name = f"tfs-standin-test-{uuid.uuid4().hex[:8]}"
    rest, grpc = free_port(), free_port()
    started = docker(
        "run", "--detach", "--name", name,
        # Like the chart's securityContext: read-only root, no capabilities.
        "--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
        "--publish", f"127.0.0.1:{rest}:8501", "--publish", f"127.0.0.1:{grpc}:8500",
        "--volume", f"{readable_models}:/models:ro",
        IMAGE,
        "--port=8500", "--rest_api_port=8501",
        "--model_name=fashion_mnist", "--model_base_path=/models/fashion_mnist",
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    try:
        yield {
            "name": name,
            "rest": rest,
            "base_path": readable_models / "fashion_mnist",
        }
    finally:
        logs = docker("logs", "--tail", "50", name)
        print(logs.stdout, logs.stderr)
        docker("rm", "--force", name)


def wait_available(port: int) -> dict:
    url = f"http://127.0.0.1:{port}/v1/models/fashion_mnist"
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    last = ""
    while time.monotonic() < deadline:
        try:
            response = requests.get(url, timeout=5)
            if response.ok:
                status = response.json()
                states = [v["state"] for v in status["model_version_status"]]
                if "AVAILABLE" in states:
                    return status
                last = json.dumps(status)
        except requests.RequestException as error:
            last = str(error)
        time.sleep(1)
    pytest.fail(f"model not AVAILABLE within {READY_TIMEOUT_SECONDS}s: {last}")


def test_image_is_labelled_as_a_stand_in():
    labels = json.loads(
        docker("image", "inspect", "--format", "{{json .Config.Labels}}", IMAGE).stdout
    )
    assert "STAND-IN" in labels["org.opencontainers.image.description"]
    assert labels["org.opencontainers.image.title"] == "tfserving-standin"


def test_image_runs_as_uid_1000_with_the_shim_as_entrypoint():
    config = json.loads(
        docker("image", "inspect", "--format", "{{json .Config}}", IMAGE).stdout
    )
    assert config["User"].split(":")[0] == "1000"
    assert config["Entrypoint"] == ["/usr/local/bin/tensorflow_model_server"]
    assert {"8500/tcp", "8501/tcp"} <= set(config["ExposedPorts"])


def test_standin_container_reports_the_model_available(standin_container):
    status = wait_available(standin_container["rest"])
    assert status["model_version_status"][0]["version"] == "1"


def test_server_is_pid_1_after_the_shim_execs(standin_container):
    wait_available(standin_container["rest"])
    cmdline = docker("exec", standin_container["name"], "cat", "/proc/1/cmdline")
    argv = cmdline.stdout.split("\0")
    assert argv[0].endswith("python"), argv
    assert argv[1:3] == ["-m", "tfserving_standin"], argv


def test_standin_container_predicts_the_golden_outputs(standin_container):
    wait_available(standin_container["rest"])
    extra = standin_container["base_path"] / "1" / "assets.extra"
    request = json.loads((extra / "sample_request.json").read_text())
    golden = json.loads((extra / "golden_outputs.json").read_text())
    tolerance = json.loads((extra / "export_metadata.json").read_text())["tolerance"]
    response = requests.post(
        f"http://127.0.0.1:{standin_container['rest']}/v1/models/fashion_mnist:predict",
        json=request,
        timeout=30,
    )
    response.raise_for_status()
    np.testing.assert_allclose(
        np.asarray(response.json()["predictions"]),
        np.asarray(golden["predictions"]),
        rtol=tolerance["rtol"],
        atol=tolerance["atol"],
    )


def test_smoke_tests_inside_the_image_pass_against_the_standin(standin_container):
    """The image carries smoke_tests for `helm test` and debugging in a pod."""
    wait_available(standin_container["rest"])
    result = docker(
        "exec", standin_container["name"],
        "python", "-m", "smoke_tests",
        "--rest-url", "http://127.0.0.1:8501", "--grpc-target", "127.0.0.1:8500",
        "--base-path", "/models/fashion_mnist", "--wait-ready", "60",
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_as_pid_1_the_standin_ignores_sigterm_like_the_real_server(standin_container):
    """No handler: the kernel drops SIGTERM to PID 1, so it serves until SIGKILL."""
    wait_available(standin_container["rest"])
    killed = docker("kill", "--signal", "TERM", standin_container["name"])
    assert killed.returncode == 0, killed.stderr
    time.sleep(3)
    running = docker(
        "inspect", "--format", "{{.State.Running}}", standin_container["name"]
    )
    assert running.stdout.strip() == "true"
    wait_available(standin_container["rest"])
