"""Reusable fixtures that run the TF Serving STAND-IN (not TensorFlow Serving).

Import them into a conftest.py to use them::

    from tests.standin_fixtures import (  # noqa: F401
        standin_fashion_mnist,
        standin_server_factory,
    )

``standin_server_factory(base_path, *flags, model_name=..., wait_ready=True)``
starts ``python -m tfserving_standin`` on free loopback ports with
tensorflow_model_server's ``--flag=value`` syntax and returns a
``StandinServer``; every process it started is stopped (SIGTERM) at the end of
the test. ``standin_fashion_mnist`` is one session-wide server for the
read-only ``fashion_mnist_base_path`` with Prometheus metrics enabled;
``standin_resnet`` serves ``resnet_bytes_base_path`` (the tutorials' ResNet
signature) as model "resnet".

Typical usage example:

    def test_status(standin_fashion_mnist):
        requests.get(standin_fashion_mnist.model_url).raise_for_status()
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from loadtest.loopback import free_ports

REPO_ROOT = Path(__file__).resolve().parents[1]
FASHION_MNIST = "fashion_mnist"
METRICS_PATH = "/monitoring/prometheus/metrics"
READY_TIMEOUT_SECONDS = 120.0


def port_open(port: int) -> bool:
    """True when something accepts TCP connections on 127.0.0.1:port."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class StandinServer:
    """A stand-in process and how to reach it."""

    process: subprocess.Popen
    model_name: str
    grpc_port: int
    rest_port: int
    log_path: Path
    argv: list[str] = field(default_factory=list)

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.rest_port}"

    @property
    def grpc_target(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def model_url(self) -> str:
        return f"{self.rest_url}/v1/models/{self.model_name}"

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = READY_TIMEOUT_SECONDS) -> None:
        """Waits until GET /v1/models/<name> answers 200 (fails on early exit)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(
                    f"stand-in exited with {self.process.returncode}:\n{self.logs()}"
                )
            try:
                if requests.get(self.model_url, timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        pytest.fail(f"stand-in not ready after {timeout}s:\n{self.logs()}")

    def stop(self, timeout: float = 20.0) -> int:
        """Sends SIGTERM and returns the exit code (kills after ``timeout``)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        return self.process.returncode


def start_standin(
    base_path: Path | None,
    *flags: str,
    model_name: str = FASHION_MNIST,
    log_dir: Path,
    wait_ready: bool = True,
) -> StandinServer:
    """Starts ``python -m tfserving_standin`` with TF Serving's flag syntax.

    Args:
        base_path: --model_base_path (None when ``flags`` has --model_config_file).
        *flags: extra flags, e.g. "--file_system_poll_wait_seconds=1".
        model_name: --model_name, and the model waited for.
        log_dir: where stdout+stderr go (standin-<port>.log).
        wait_ready: block until GET /v1/models/<model_name> answers 200.
    """
    grpc_port, rest_port = free_ports(2)
    log_path = log_dir / f"standin-{rest_port}.log"
    argv = [
        sys.executable,
        "-m",
        "tfserving_standin",
        f"--port={grpc_port}",
        f"--rest_api_port={rest_port}",
    ]
    if base_path is not None:
        argv += [f"--model_name={model_name}", f"--model_base_path={base_path}"]
    argv += list(flags)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
    with log_path.open("w") as log_file:
        process = subprocess.Popen(
            argv, cwd=REPO_ROOT, stdout=log_file, stderr=subprocess.STDOUT, env=env
        )
    server = StandinServer(process, model_name, grpc_port, rest_port, log_path, argv)
    if wait_ready:
        try:
            server.wait_ready()
        except BaseException:
            server.stop()
            raise
    return server


@pytest.fixture
def standin_server_factory(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., StandinServer]]:
    """Factory: ``standin_server_factory(base_path, *flags, model_name=...,
    wait_ready=True) -> StandinServer``; stops every server it started."""
    started: list[StandinServer] = []
    log_dir = tmp_path_factory.mktemp("standin-logs")

    def factory(
        base_path: Path | None,
        *flags: str,
        model_name: str = FASHION_MNIST,
        wait_ready: bool = True,
    ) -> StandinServer:
        server = start_standin(
            base_path,
            *flags,
            model_name=model_name,
            log_dir=log_dir,
            wait_ready=wait_ready,
        )
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def standin_fashion_mnist(
    fashion_mnist_base_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StandinServer]:
    """One stand-in for the whole session serving ``fashion_mnist_base_path``
    (version 1), with Prometheus metrics at /monitoring/prometheus/metrics and
    the thread, timeout and gRPC channel flags the chart renders."""
    work = tmp_path_factory.mktemp("standin-shared")
    monitoring = work / "monitoring.config"
    monitoring.write_text(
        f'prometheus_config {{ enable: true, path: "{METRICS_PATH}" }}\n'
    )
    server = start_standin(
        fashion_mnist_base_path,
        f"--monitoring_config_file={monitoring}",
        "--file_system_poll_wait_seconds=0",
        # Flags the Helm chart renders, so a typo'd or unsupported one shows here.
        "--grpc_channel_arguments=grpc.max_connection_age_ms=60000",
        "--rest_api_timeout_in_ms=20000",
        "--rest_api_num_threads=4",
        "--tensorflow_intra_op_parallelism=2",
        "--tensorflow_inter_op_parallelism=2",
        "--max_num_load_retries=0",
        log_dir=work,
    )
    yield server
    server.stop()


@pytest.fixture(scope="session")
def standin_resnet(
    resnet_bytes_base_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StandinServer]:
    """One stand-in for the session serving ``resnet_bytes_base_path`` (version 1)
    as model "resnet", the name TF Serving's tutorial clients send to."""
    work = tmp_path_factory.mktemp("standin-resnet")
    server = start_standin(
        resnet_bytes_base_path,
        "--file_system_poll_wait_seconds=0",
        "--max_num_load_retries=0",
        model_name=resnet_bytes_base_path.name,
        log_dir=work,
    )
    yield server
    server.stop()
