"""Readiness means "can serve": every configured model has an AVAILABLE version.

TF Serving answers 200 on `GET /v1/models/<name>` for any model it has ever known,
including one whose versions all ended after a config reload, while every predict
gets 404; `GET /v1/models/<name>/metadata` answers 404 then
(servables/tensorflow/get_model_metadata_impl.cc:53-54, core/basic_manager.cc:138-140
at 2.20.0). The chart's readiness checks the metadata of every model: through the
drain proxy's `/-/ready` (HAProxy `monitor-uri`, one health-checked backend per
model) or, without the proxy, with a bash exec probe. The loopback tests run the
rendered HAProxy config and the rendered exec probe in front of the TF Serving
STAND-IN (not TensorFlow Serving), with the chart's own models.config, and take a
model's served version away by a live config reload.

Typical usage example:

    .venv/bin/python -m pytest tests/chart/test_readiness.py -q
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from loadtest.loopback import free_port
from tests.chart.helpers import config_map_data, deployment, pod_spec, render
from tests.chart.test_drain_proxy import containers, haproxy_binary
from tests.standin_fixtures import (  # noqa: F401  (fixtures used by the tests)
    FASHION_MNIST,
    StandinServer,
    port_open,
    standin_server_factory,
)

SECOND = "second_model"
TWO_MODELS = {"extraModels": [{"name": SECOND}]}
READY_PATH = "/-/ready"
SETTLE_TIMEOUT_S = 30.0


def test_the_proxy_health_checks_the_metadata_of_every_model():
    config = config_map_data(render(TWO_MODELS), "-drain-proxy")["haproxy.cfg"]
    assert f"monitor-uri {READY_PATH}" in config
    assert (
        f"monitor fail if {{ nbsrv(ready-{FASHION_MNIST}) lt 1 }} || "
        f"{{ nbsrv(ready-{SECOND}) lt 1 }}"
    ) in config
    for name in (FASHION_MNIST, SECOND):
        backend = config.split(f"backend ready-{name}\n", 1)[1].split("\n\n", 1)[0]
        assert f"http-check send meth GET uri /v1/models/{name}/metadata" in backend
        assert "http-check expect status 200" in backend
        assert "server local 127.0.0.1:8511 check inter 5s" in backend
    traffic = config.split("backend tf-serving\n", 1)[1].split("\n\n", 1)[0]
    assert " check" not in traffic, "traffic must not depend on any one model"


def test_server_readiness_reads_the_proxy_and_liveness_ignores_versions():
    by_name = containers(render(TWO_MODELS))
    server, proxy = by_name["tf-serving"], by_name["drain-proxy"]
    assert server["readinessProbe"]["httpGet"] == {"path": READY_PATH, "port": 8501}
    assert server["startupProbe"]["httpGet"]["path"] == f"/v1/models/{FASHION_MNIST}"
    assert server["livenessProbe"]["tcpSocket"] == {"port": "grpc"}
    assert proxy["readinessProbe"]["tcpSocket"] == {"port": "http"}
    assert proxy["livenessProbe"]["tcpSocket"] == {"port": "http"}


def test_without_the_proxy_an_exec_probe_checks_every_model_with_bash_only():
    docs = render({**TWO_MODELS, "drainProxy": {"enabled": False}})
    server = containers(docs)["tf-serving"]
    command = server["readinessProbe"]["exec"]["command"]
    assert command[:2] == ["bash", "-c"]
    assert command[3:] == ["readiness-probe", "8501", "5", FASHION_MNIST, SECOND]
    for tool in ("curl", "wget", "nc "):
        assert tool not in command[2].replace("no curl", "")
    assert server["livenessProbe"]["tcpSocket"] == {"port": "grpc"}


def test_grpc_health_liveness_does_not_depend_on_versions_either():
    server = containers(render({"probes": {"grpcHealthCheck": True}}))["tf-serving"]
    assert server["livenessProbe"]["grpc"]["service"] == "PredictionService"


@pytest.mark.parametrize("drain_proxy", [True, False], ids=["proxy", "no-proxy"])
def test_adding_a_model_rolls_the_pods_but_a_policy_change_does_not(drain_proxy):
    """The per-model checks live in the pod (haproxy.cfg or the probe's args)."""
    base = {"drainProxy": {"enabled": drain_proxy}}
    one = render(base)
    two = render({**base, **TWO_MODELS})
    policy = render({**base, "model": {"latestVersions": 2}})

    def template(docs):
        spec = deployment(docs)["spec"]["template"]
        return spec["metadata"]["annotations"], pod_spec(docs)["containers"]

    assert template(one) != template(two)
    assert template(one) == template(policy)


# -- loopback: the rendered checks in front of the stand-in ---------------------------


def write_models_config(path: Path, values: dict) -> None:
    """Writes the chart's rendered models.config atomically, as the kubelet does."""
    text = config_map_data(render(values), "-models")["models.config"]
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def models_values(models_dir: Path, served_version: int = 1) -> dict:
    """Two models; the second serves only `served_version` (99 does not exist)."""
    return {
        "model": {"basePath": str(models_dir / FASHION_MNIST)},
        "extraModels": [
            {
                "name": SECOND,
                "basePath": str(models_dir / SECOND),
                "versionPolicy": "specific",
                "specificVersions": [served_version],
            }
        ],
    }


def wait_for(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def status(url: str) -> int:
    try:
        return requests.get(url, timeout=5).status_code
    except requests.ConnectionError:
        return 0


@pytest.fixture
def two_models(
    fashion_mnist_base_path: Path,
    standin_server_factory,  # noqa: F811
    tmp_path: Path,
) -> Iterator[dict]:
    """The stand-in serving fashion_mnist and a copy as `second_model` from the
    chart's models.config, re-read every second; `config` is that file."""
    models_dir = tmp_path / "models"
    for name in (FASHION_MNIST, SECOND):
        shutil.copytree(fashion_mnist_base_path, models_dir / name)
    config = tmp_path / "models.config"
    write_models_config(config, models_values(models_dir))
    server: StandinServer = standin_server_factory(
        None,
        f"--model_config_file={config}",
        "--model_config_file_poll_wait_seconds=1",
        "--file_system_poll_wait_seconds=1",
        "--max_num_load_retries=0",
    )
    yield {"server": server, "config": config, "models_dir": models_dir}


def take_the_second_models_version_away(two_models: dict) -> None:
    write_models_config(
        two_models["config"], models_values(two_models["models_dir"], 99)
    )


def give_it_back(two_models: dict) -> None:
    write_models_config(two_models["config"], models_values(two_models["models_dir"]))


@pytest.fixture
def proxy_in_front(two_models: dict, tmp_path: Path) -> Iterator[str]:
    """The chart's drain-proxy command and rendered haproxy.cfg (1 s checks) in
    front of the stand-in; yields the proxy's base URL."""
    binary = haproxy_binary()
    port = free_port()
    docs = render(
        {
            **models_values(two_models["models_dir"]),
            "server": {"ports": {"http": port}},
            "drainProxy": {"serverHttpPort": two_models["server"].rest_port},
            "probes": {"readiness": {"periodSeconds": 1}},
        }
    )
    config_path = tmp_path / "haproxy.cfg"
    config_path.write_text(config_map_data(docs, "-drain-proxy")["haproxy.cfg"])
    command = [
        binary if a == "haproxy" else str(config_path) if a.endswith(".cfg") else a
        for a in containers(docs)["drain-proxy"]["command"]
    ]
    log_path = tmp_path / "haproxy.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: port_open(port), "haproxy to listen")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.kill()
        proc.wait(timeout=10)
        print(log_path.read_text())


@pytest.mark.standin
def test_monitor_is_503_while_one_of_two_models_has_no_available_version(
    two_models: dict, proxy_in_front: str
):
    """Stand-in, loopback: the readiness endpoint follows the second model's
    versions through a live config reload, while the status endpoint the old
    probe used stays 200 and the other model keeps serving through the proxy."""
    ready = f"{proxy_in_front}{READY_PATH}"
    second = f"{proxy_in_front}/v1/models/{SECOND}"
    first = f"{proxy_in_front}/v1/models/{FASHION_MNIST}"
    wait_for(lambda: status(ready) == 200, "200 with both models AVAILABLE")

    take_the_second_models_version_away(two_models)
    wait_for(lambda: status(ready) == 503, "503 once the second model has no version")
    assert status(f"{second}/metadata") == 404  # as TF Serving: no AVAILABLE version
    assert status(second) == 200  # ...while its status still answers 200
    states = [
        v["state"]
        for v in requests.get(second, timeout=5).json()["model_version_status"]
    ]
    assert "AVAILABLE" not in states
    assert status(f"{first}/metadata") == 200  # traffic is never health-checked

    give_it_back(two_models)
    wait_for(lambda: status(ready) == 200, "200 once the version is back")


def run_exec_probe(docs: list[dict]) -> subprocess.CompletedProcess:
    """Runs the rendered readiness exec command on this host (bash, like the image)."""
    command = containers(docs)["tf-serving"]["readinessProbe"]["exec"]["command"]
    if not shutil.which(command[0]):
        pytest.skip("bash is missing")
    return subprocess.run(
        command, capture_output=True, text=True, timeout=30, env=dict(os.environ)
    )


@pytest.mark.standin
def test_exec_probe_fails_naming_the_model_without_an_available_version(
    two_models: dict,
):
    """Stand-in, loopback, drainProxy off: the same checks with bash's /dev/tcp."""
    server: StandinServer = two_models["server"]
    docs = render(
        {
            **models_values(two_models["models_dir"]),
            "drainProxy": {"enabled": False},
            "server": {"ports": {"http": server.rest_port}},
        }
    )
    assert run_exec_probe(docs).returncode == 0

    take_the_second_models_version_away(two_models)
    wait_for(lambda: run_exec_probe(docs).returncode == 1, "the probe to fail")
    result = run_exec_probe(docs)
    assert f'model "{SECOND}" has no AVAILABLE version' in result.stdout
    assert "answered 404" in result.stdout

    give_it_back(two_models)
    wait_for(lambda: run_exec_probe(docs).returncode == 0, "the probe to pass")


def test_exec_probe_fails_when_nothing_listens():
    docs = render(
        {
            "drainProxy": {"enabled": False},
            "server": {"ports": {"http": free_port(), "grpc": 8500}},
        }
    )
    result = run_exec_probe(docs)
    assert result.returncode == 1
    assert "nothing accepts connections on the REST port" in result.stdout
