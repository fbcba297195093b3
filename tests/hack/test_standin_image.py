"""The locally built TF Serving STAND-IN image serves a model (tests only).

Runs the image that hack/build/standin-image.sh built, with the session's
fashion-MNIST fixture mounted under /models, on loopback ports: once with the
chart's `command: [tensorflow_model_server]` (the server is PID 1) and once
through the image's own entrypoint, which imitates tensorflow/serving's
(`docker run -e MODEL_NAME=x -v <dir>:/models/x`, bash as PID 1). This checks
the image (shim, entrypoint, user, labels, packages); it says nothing about
TensorFlow Serving.

Typical usage example:

    make standin-image && .venv/bin/python -m pytest tests/hack/test_standin_image.py
"""

import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import requests

from loadtest.loopback import free_port, free_ports

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
    """The stand-in image run as the chart runs it; removed afterwards."""
    name = f"tfs-standin-test-{uuid.uuid4().hex[:8]}"
    rest, grpc = free_ports(2)
    started = docker(
        "run", "--detach", "--name", name,
        # The chart's `command:`, not the image's bash entrypoint.
        "--entrypoint", "tensorflow_model_server",
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


def wait_available(port: int, model: str = "fashion_mnist") -> dict:
    url = f"http://127.0.0.1:{port}/v1/models/{model}"
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


def test_image_has_the_official_entrypoint_defaults_and_ports():
    """tensorflow/serving's Dockerfile (2.20.0): ENV MODEL_BASE_PATH=/models,
    MODEL_NAME=model, EXPOSE 8500 and 8501, /usr/bin/tf_serving_entrypoint.sh."""
    config = json.loads(
        docker("image", "inspect", "--format", "{{json .Config}}", IMAGE).stdout
    )
    assert config["User"].split(":")[0] == "1000"
    assert config["Entrypoint"] == ["/usr/bin/tf_serving_entrypoint.sh"]
    assert not config.get("Cmd")
    assert {"MODEL_BASE_PATH=/models", "MODEL_NAME=model"} <= set(config["Env"])
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


def smoke_inside(container: dict, *extra: str) -> None:
    """Runs the image's own smoke_tests against the server in the container."""
    wait_available(container["rest"])
    result = docker(
        "exec", container["name"],
        "python", "-m", "smoke_tests",
        "--rest-url", "http://127.0.0.1:8501", "--grpc-target", "127.0.0.1:8500",
        "--base-path", "/models/fashion_mnist", "--wait-ready", "60", *extra,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_smoke_tests_inside_the_image_pass_against_the_standin(standin_container):
    """The image carries smoke_tests for `helm test` and debugging in a pod."""
    smoke_inside(standin_container)


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


def process_table(name: str) -> dict[int, tuple[int, list[str]]]:
    """pid -> (ppid, argv) of every process in the container."""
    script = (
        "import json, os\n"
        "table = {}\n"
        "for pid in filter(str.isdigit, os.listdir('/proc')):\n"
        "    try:\n"
        "        argv = open(f'/proc/{pid}/cmdline', 'rb').read().split(b'\\0')\n"
        "        stat = open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()\n"
        "    except OSError:\n"
        "        continue\n"
        "    table[pid] = [int(stat[1]), [a.decode() for a in argv if a]]\n"
        "print(json.dumps(table))\n"
    )
    result = docker("exec", name, "python", "-c", script)
    assert result.returncode == 0, result.stderr
    return {int(k): (v[0], v[1]) for k, v in json.loads(result.stdout).items()}


@pytest.fixture(scope="module")
def entrypoint_container(
    readable_models: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict]:
    """`docker run -e MODEL_NAME=fashion_mnist -v <dir>:/models/fashion_mnist IMAGE
    --monitoring_config_file=...`: the image's own entrypoint, as a user runs
    tensorflow/serving, with one extra argument appended."""
    config_dir = tmp_path_factory.mktemp("standin-image-config")
    (config_dir / "monitoring.config").write_text(
        'prometheus_config { enable: true, path: "/monitoring/prometheus/metrics" }\n'
    )
    os.chmod(config_dir, 0o755)
    os.chmod(config_dir / "monitoring.config", 0o644)
    name = f"tfs-standin-entrypoint-{uuid.uuid4().hex[:8]}"
    rest, grpc = free_ports(2)
    started = docker(
        "run", "--detach", "--name", name,
        "--env", "MODEL_NAME=fashion_mnist",
        "--volume", f"{readable_models / 'fashion_mnist'}:/models/fashion_mnist:ro",
        "--volume", f"{config_dir}:/config:ro",
        "--publish", f"127.0.0.1:{rest}:8501", "--publish", f"127.0.0.1:{grpc}:8500",
        IMAGE,
        "--monitoring_config_file=/config/monitoring.config",
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    try:
        yield {"name": name, "rest": rest}
    finally:
        logs = docker("logs", "--tail", "50", name)
        print(logs.stdout, logs.stderr)
        docker("rm", "--force", name)


def test_entrypoint_serves_model_name_from_model_base_path_on_8500_and_8501(
    entrypoint_container,
):
    """Both ports, the model at ${MODEL_BASE_PATH}/${MODEL_NAME}, and the extra
    argument (metrics exist only because of it), checked from inside."""
    smoke_inside(
        entrypoint_container, "--metrics-path", "/monitoring/prometheus/metrics"
    )


def test_entrypoint_is_bash_as_pid_1_running_the_server_as_its_child(
    entrypoint_container,
):
    """The official script has no `exec`: bash is PID 1, the server its child,
    with the defaults first and the extra arguments appended."""
    wait_available(entrypoint_container["rest"])
    table = process_table(entrypoint_container["name"])
    pid1 = table[1][1]
    assert pid1[0] in ("/bin/bash", "bash"), pid1
    assert pid1[1:] == [
        "/usr/bin/tf_serving_entrypoint.sh",
        "--monitoring_config_file=/config/monitoring.config",
    ]
    servers = [
        argv
        for ppid, argv in table.values()
        if ppid == 1 and argv[1:3] == ["-m", "tfserving_standin"]
    ]
    assert servers, table
    assert servers[0][3:] == [
        "--port=8500",
        "--rest_api_port=8501",
        "--model_name=fashion_mnist",
        "--model_base_path=/models/fashion_mnist",
        "--monitoring_config_file=/config/monitoring.config",
    ]


def test_entrypoint_ignores_sigterm_and_stops_only_at_sigkill_like_the_real_image(
    entrypoint_container,
):
    """SIGTERM reaches only bash (PID 1, no trap), so nothing happens; `docker
    stop` ends with SIGKILL after its timeout (exit 137)."""
    name = entrypoint_container["name"]
    wait_available(entrypoint_container["rest"])
    assert docker("kill", "--signal", "TERM", name).returncode == 0
    time.sleep(3)
    running = docker("inspect", "--format", "{{.State.Running}}", name)
    assert running.stdout.strip() == "true"
    wait_available(entrypoint_container["rest"])
    stopped = docker("stop", "--time", "2", name, timeout=60)
    assert stopped.returncode == 0, stopped.stderr
    code = docker("inspect", "--format", "{{.State.ExitCode}}", name)
    assert code.stdout.strip() == "137"


def test_entrypoint_defaults_to_model_name_model(readable_models: Path):
    """Without -e MODEL_NAME the image serves /models/model as "model"."""
    name = f"tfs-standin-default-{uuid.uuid4().hex[:8]}"
    rest = free_port()
    started = docker(
        "run", "--detach", "--name", name,
        "--volume", f"{readable_models / 'fashion_mnist'}:/models/model:ro",
        "--publish", f"127.0.0.1:{rest}:8501",
        IMAGE,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    try:
        status = wait_available(rest, model="model")
        assert status["model_version_status"][0]["version"] == "1"
    finally:
        docker("rm", "--force", name)
