"""The locally built HAProxy image drains keep-alive clients (REST drain sidecar).

Runs the image that hack/build-drain-proxy-image.sh built. Checks its metadata, the
tools a preStop hook needs, that images/drain-proxy/drain-check.cfg parses, and that
after a soft stop an idle keep-alive connection gets `Connection: close` on its next
response.

Typical usage example:

    hack/build-drain-proxy-image.sh
    .venv/bin/python -m pytest tests/hack/test_drain_proxy_image.py
"""

import http.client
import json
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CHECK_CONFIG = REPO_ROOT / "images" / "drain-proxy" / "drain-check.cfg"
READY_TIMEOUT_SECONDS = 30
# A stand-in backend on the port drain-check.cfg forwards to.
BACKEND_CONFIG = """\
defaults
  mode http
  timeout client 60s
  timeout server 60s
  timeout connect 2s
frontend backend-stub
  bind 127.0.0.1:8511
  http-request return status 200 content-type text/plain string ok
"""


def versions() -> dict[str, str]:
    pairs = (
        line.split("=", 1)
        for line in (REPO_ROOT / "hack" / "versions.env").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    return {key.strip(): value.strip() for key, value in pairs}


HAPROXY_VERSION = versions()["HAPROXY_VERSION"]
IMAGE = f"local/haproxy:{HAPROXY_VERSION}"


def docker(
    *args: str, timeout: float = 60, stdin: str | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["docker", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def image_present() -> bool:
    try:
        return docker("image", "inspect", IMAGE, timeout=15).returncode == 0
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return False


pytestmark = pytest.mark.skipif(
    not image_present(),
    reason=f"{IMAGE} not built (hack/build-drain-proxy-image.sh) or no Docker daemon",
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def image_config() -> dict:
    return json.loads(
        docker("image", "inspect", "--format", "{{json .Config}}", IMAGE).stdout
    )


@pytest.fixture
def drain_container() -> Iterator[dict]:
    """drain-check.cfg hardened like a chart sidecar, with a stub backend in a second
    container on its network namespace, as in a pod."""
    name = f"tfs-drain-proxy-test-{uuid.uuid4().hex[:8]}"
    port = free_port()
    hardened = [
        "--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL",
        "--security-opt", "no-new-privileges",
    ]  # fmt: skip
    write_and_run = (
        'printf %s "${CONFIG}" >/tmp/haproxy.cfg'
        " && exec haproxy -W -db -f /tmp/haproxy.cfg"
    )
    started = docker(
        "run", "--detach", "--name", name, *hardened,
        "--publish", f"127.0.0.1:{port}:8501",
        "--env", f"CONFIG={CHECK_CONFIG.read_text()}",
        IMAGE, "/bin/sh", "-c", write_and_run,
    )  # fmt: skip
    backend = docker(
        "run", "--detach", "--name", f"{name}-backend", *hardened,
        "--network", f"container:{name}",
        "--env", f"CONFIG={BACKEND_CONFIG}",
        IMAGE, "/bin/sh", "-c", write_and_run,
    )  # fmt: skip
    try:
        assert started.returncode == 0, started.stderr
        assert backend.returncode == 0, backend.stderr
        yield {"name": name, "port": port}
    finally:
        logs = docker("logs", "--tail", "50", name)
        print(logs.stdout, logs.stderr)
        docker("rm", "--force", f"{name}-backend", name)


def wait_ready(port: int) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    last = ""
    while time.monotonic() < deadline:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            connection.request("GET", "/")
            if connection.getresponse().status == 200:
                return
        except (OSError, http.client.HTTPException) as error:
            last = str(error)
        finally:
            connection.close()
        time.sleep(0.2)
    pytest.fail(f"drain proxy not answering within {READY_TIMEOUT_SECONDS}s: {last}")


def wait_exited(name: str, timeout: float = 15) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = docker(
            "inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", name
        )
        status, _, code = state.stdout.strip().partition(" ")
        if status == "exited":
            return int(code)
        time.sleep(0.2)
    pytest.fail(f"{name} still running {timeout}s after the soft stop")


def test_image_is_tagged_with_the_haproxy_version_it_runs():
    banner = docker("run", "--rm", IMAGE, "haproxy", "-v").stdout
    assert banner.startswith(f"HAProxy version {HAPROXY_VERSION}-"), banner
    labels = image_config()["Labels"]
    assert labels["org.opencontainers.image.version"] == HAPROXY_VERSION


def test_image_runs_as_numeric_uid_1000_with_a_soft_stop_signal():
    config = image_config()
    assert config["User"] == "1000:1000"
    assert not config.get("Entrypoint")
    assert config["Cmd"][0] == "haproxy"
    assert config["StopSignal"] == "SIGUSR1"


def test_image_has_the_tools_a_prestop_hook_needs():
    result = docker(
        "run", "--rm", IMAGE, "/bin/sh", "-c",
        "command -v haproxy sleep cat && test -x /bin/kill && id -u",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1] == "1000"


def test_drain_check_config_parses_including_idle_close_on_response():
    assert "option idle-close-on-response" in CHECK_CONFIG.read_text()
    result = docker(
        "run", "--rm", "--interactive", IMAGE, "haproxy", "-c", "-f", "/dev/stdin",
        stdin=CHECK_CONFIG.read_text(),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_idle_keepalive_client_gets_connection_close_after_a_soft_stop(
    drain_container,
):
    """The reason for the sidecar: a reused connection is closed cleanly, not reset."""
    wait_ready(drain_container["port"])
    client = http.client.HTTPConnection(
        "127.0.0.1", drain_container["port"], timeout=10
    )
    try:
        client.request("GET", "/v1/models/any")
        first = client.getresponse()
        assert first.read() == b"ok"
        assert (first.getheader("Connection") or "").lower() != "close"

        stop = docker(
            "exec", drain_container["name"], "/bin/sh", "-c",
            'kill -USR1 "$(cat /tmp/haproxy.pid)"',
        )  # fmt: skip
        assert stop.returncode == 0, stop.stderr
        time.sleep(1)

        client.request("GET", "/v1/models/any")
        second = client.getresponse()
        assert second.status == 200
        assert second.read() == b"ok"
        assert (second.getheader("Connection") or "").lower() == "close"
    finally:
        client.close()
    assert wait_exited(drain_container["name"]) == 0
