"""The chart's REST drain proxy: its rendered HAProxy config in front of the TF
Serving STAND-IN on loopback, and the shutdown timings the chart derives.

The real server dies at once on SIGTERM, so the proxy must close every keep-alive
connection with `Connection: close` on its next response (never cut it) after
the soft stop that the preStop hook sends. Needs Debian's haproxy on PATH
(`.ci/run` installs it and sets REQUIRE_HAPROXY=1, which turns a skip into a
failure).

Typical usage example:

    .venv/bin/python -m pytest tests/chart/test_drain_proxy.py -q
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from loadtest.loopback import free_port
from tests.chart.helpers import (
    RenderError,
    config_map_data,
    pod_spec,
    render,
    versions_env,
)
from tests.standin_fixtures import (  # noqa: F401  (fixtures used by the tests)
    FASHION_MNIST,
    port_open,
    standin_fashion_mnist,
)

STATUS_PATH = f"/v1/models/{FASHION_MNIST}"
OPEN_CONNECTIONS = 4


def haproxy_binary() -> str:
    """Path of haproxy; skips, or fails under REQUIRE_HAPROXY=1, when missing."""
    found = shutil.which("haproxy")
    if found:
        return found
    reason = "haproxy missing: apt-get install haproxy (Debian package)"
    if os.environ.get("REQUIRE_HAPROXY") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def containers(docs: list[dict]) -> dict[str, dict]:
    return {c["name"]: c for c in pod_spec(docs)["containers"]}


# Short timings so the rendered preStop hook runs in a few seconds here.
FAST_SHUTDOWN = (
    "shutdown.preStopSleepSeconds=5",
    "shutdown.endpointRemovalSeconds=1",
    "server.grpc.maxConnectionAgeMs=0",
    "server.grpc.maxConnectionAgeGraceMs=0",
)


@pytest.fixture
def drain_proxy(standin_fashion_mnist, tmp_path: Path) -> Iterator[dict]:  # noqa: F811
    """The chart's drain-proxy container run on loopback: its command and config,
    in front of the shared stand-in; `pre_stop` is its rendered preStop hook."""
    binary = haproxy_binary()
    port = free_port()
    docs = render(
        set_args=(
            *FAST_SHUTDOWN,
            f"server.ports.http={port}",
            f"drainProxy.serverHttpPort={standin_fashion_mnist.rest_port}",
        )
    )
    proxy = containers(docs)["drain-proxy"]
    config_path = tmp_path / "haproxy.cfg"
    config_path.write_text(config_map_data(docs, "-drain-proxy")["haproxy.cfg"])
    command = [binary if a == "haproxy" else a for a in proxy["command"]]
    command[command.index("/etc/drain-proxy/haproxy.cfg")] = str(config_path)
    checked = subprocess.run(
        [binary, "-c", "-f", str(config_path)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    log = (tmp_path / "haproxy.log").open("w")
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while not port_open(port):
        assert proc.poll() is None, (tmp_path / "haproxy.log").read_text()
        assert time.monotonic() < deadline, "haproxy did not listen"
        time.sleep(0.1)
    pre_stop = proxy["lifecycle"]["preStop"]["exec"]["command"]
    yield {
        "port": port,
        "proc": proc,
        "log": tmp_path / "haproxy.log",
        "pre_stop": pre_stop,
    }
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=10)


def get(connection: http.client.HTTPConnection) -> http.client.HTTPResponse:
    connection.request("GET", STATUS_PATH)
    response = connection.getresponse()
    response.read()
    return response


def test_prestop_then_stop_signal_closes_each_connection_after_its_next_response(
    drain_proxy,
):
    """The pod's stop sequence: the rendered preStop hook, then the image's
    STOPSIGNAL (SIGUSR1, tests/hack/test_drain_proxy_image.py): new connections
    are refused, open ones get one more answer with Connection: close, none is
    reset; then haproxy exits 0 by itself."""
    port = drain_proxy["port"]
    connections = [
        http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for _ in range(OPEN_CONNECTIONS)
    ]
    for connection in connections:
        response = get(connection)
        assert response.status == 200
        assert response.getheader("Connection", "").lower() != "close"

    hook = subprocess.run(drain_proxy["pre_stop"], capture_output=True, timeout=15)
    assert hook.returncode == 0, hook.stderr
    assert port_open(port), "the hook alone must not stop the proxy"
    drain_proxy["proc"].send_signal(signal.SIGUSR1)
    deadline = time.monotonic() + 5
    while port_open(port):
        assert time.monotonic() < deadline, "SIGUSR1 did not soft-stop haproxy"
        time.sleep(0.1)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    for connection in connections:
        response = get(connection)  # idle connections were kept for this one
        assert response.status == 200
        assert response.getheader("Connection", "").lower() == "close"
        connection.close()
    assert drain_proxy["proc"].wait(timeout=10) == 0, drain_proxy["log"].read_text()


def test_shutdown_timings_are_derived_from_the_prestop_sleep():
    """Proxy: soft stop (its STOPSIGNAL) after endpointRemovalSeconds, done 1 s
    before the server's preStop ends (SIGTERM kills it): hard-stop-after bounds it."""
    docs = render(
        set_args=(
            "shutdown.preStopSleepSeconds=20",
            "shutdown.endpointRemovalSeconds=4",
        )
    )
    by_name = containers(docs)
    server_hook = by_name["tf-serving"]["lifecycle"]["preStop"]["exec"]["command"]
    assert server_hook == ["sleep", "20"]
    proxy_hook = by_name["drain-proxy"]["lifecycle"]["preStop"]["exec"]["command"]
    assert proxy_hook == ["sleep", "4"]
    config = config_map_data(docs, "-drain-proxy")["haproxy.cfg"]
    assert "hard-stop-after 15s" in config
    assert "option idle-close-on-response" in config


def test_proxy_takes_the_rest_port_and_the_server_moves_behind_it():
    docs = render()
    by_name = containers(docs)
    server, proxy = by_name["tf-serving"], by_name["drain-proxy"]
    assert "--rest_api_port=8511" in server["args"]
    assert {p["name"]: p["containerPort"] for p in server["ports"]} == {
        "grpc": 8500,
        "server-http": 8511,
    }
    assert server["startupProbe"]["httpGet"]["port"] == "server-http"
    assert server["readinessProbe"]["httpGet"] == {"path": "/-/ready", "port": 8501}
    assert proxy["ports"] == [
        {"name": "http", "containerPort": 8501, "protocol": "TCP"}
    ]
    assert proxy["readinessProbe"]["tcpSocket"]["port"] == "http"
    config = config_map_data(docs, "-drain-proxy")["haproxy.cfg"]
    assert "bind :8501" in config and "server local 127.0.0.1:8511" in config


def test_without_the_proxy_the_server_has_the_rest_port():
    docs = render(set_args=("drainProxy.enabled=false",))
    by_name = containers(docs)
    assert set(by_name) == {"tf-serving"}
    assert "--rest_api_port=8501" in by_name["tf-serving"]["args"]
    assert not [d for d in docs if d["metadata"]["name"].endswith("-drain-proxy")]


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (
            ("server.grpc.maxConnectionAgeMs=20000",),
            "raise shutdown.preStopSleepSeconds to at least 27",
        ),
        (
            ("server.grpc.maxConnectionAgeGraceMs=0",),
            "server.grpc.maxConnectionAgeGraceMs must be",
        ),
        (("drainProxy.serverHttpPort=8501",), "drainProxy.serverHttpPort (8501)"),
        (("drainProxy.serverHttpPort=8500",), "drainProxy.serverHttpPort (8500)"),
        (
            ("shutdown.endpointRemovalSeconds=15",),
            "endpointRemovalSeconds (15) must be less than shutdown.preStopSleepSecond",
        ),
        (
            ("server.grpc.maxConnectionAgeMs=0", "shutdown.endpointRemovalSeconds=13"),
            "at least shutdown.endpointRemovalSeconds (13) + 3",
        ),
    ],
)
def test_shutdown_timings_that_could_lose_requests_are_refused(sets, message):
    with pytest.raises(RenderError) as error:
        render(set_args=sets)
    assert message in str(error.value)


def test_grpc_age_off_is_allowed_and_renders_no_channel_argument():
    docs = render(
        set_args=(
            "server.grpc.maxConnectionAgeMs=0",
            "server.grpc.maxConnectionAgeGraceMs=0",
        )
    )
    args = containers(docs)["tf-serving"]["args"]
    assert not [a for a in args if a.startswith("--grpc_channel_arguments")]


def test_default_proxy_image_is_the_haproxy_release_e2e_runs():
    """Users' official haproxy tag = the Debian haproxy version the e2e image has."""
    proxy = containers(render())["drain-proxy"]
    assert proxy["image"] == f"haproxy:{versions_env()['HAPROXY_VERSION']}"
