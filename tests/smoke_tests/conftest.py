"""Fixtures that run the TF Serving STAND-IN (not TensorFlow Serving) for smoke tests.

``standin_server`` starts ``python -m tfserving_standin`` with TF Serving's own
flags on free loopback ports and waits until the model answers; the process is
stopped (SIGTERM, then SIGKILL) when the fixture ends.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
MODEL = "fashion_mnist"
METRICS_PATH = "/monitoring/prometheus/metrics"
START_TIMEOUT_SECONDS = 180


@dataclass
class Standin:
    """A running stand-in process and where to reach it."""

    rest_url: str
    grpc_target: str
    base_path: Path
    log: Path
    process: subprocess.Popen


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@contextlib.contextmanager
def run_standin(
    base_path: Path,
    workdir: Path,
    extra_flags: list[str] | None = None,
    single_model: bool = True,
) -> Iterator[Standin]:
    """Starts the stand-in for ``base_path`` and yields once the model answers.

    With ``single_model=False`` the caller passes ``--model_config_file``.
    """
    grpc_port, rest_port = _free_port(), _free_port()
    monitoring = workdir / "monitoring.config"
    monitoring.write_text(
        f'prometheus_config {{\n  enable: true\n  path: "{METRICS_PATH}"\n}}\n'
    )
    log = workdir / "standin.log"
    argv = [
        sys.executable,
        "-m",
        "tfserving_standin",
        f"--port={grpc_port}",
        f"--rest_api_port={rest_port}",
        *([f"--model_name={MODEL}", f"--model_base_path={base_path}"] * single_model),
        f"--monitoring_config_file={monitoring}",
        "--file_system_poll_wait_seconds=1",
        *(extra_flags or []),
    ]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
    with log.open("w") as log_file:
        process = subprocess.Popen(
            argv, cwd=REPO_ROOT, stdout=log_file, stderr=subprocess.STDOUT, env=env
        )
    rest_url = f"http://127.0.0.1:{rest_port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            if process.poll() is not None:
                pytest.fail(
                    f"stand-in exited with {process.returncode}:\n{log.read_text()}"
                )
            try:
                if requests.get(f"{rest_url}/v1/models/{MODEL}", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"stand-in not ready after {START_TIMEOUT_SECONDS}s:\n"
                    + log.read_text()
                )
            time.sleep(0.5)
        yield Standin(rest_url, f"127.0.0.1:{grpc_port}", base_path, log, process)
    finally:
        _stop(process)


@pytest.fixture(scope="module")
def standin_server(
    fashion_mnist_base_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Standin]:
    """The stand-in serving version 1 of the shared fashion-MNIST fixture model."""
    workdir = tmp_path_factory.mktemp("standin")
    with run_standin(fashion_mnist_base_path, workdir) as server:
        yield server


@pytest.fixture
def model_copy(fashion_mnist_base_path: Path, tmp_path: Path) -> Path:
    """A writable copy of the fixture base path (for adding versions)."""
    target = tmp_path / "models" / MODEL
    shutil.copytree(fashion_mnist_base_path, target)
    return target
