"""The locally built HAProxy image drains keep-alive clients (REST drain sidecar).

Runs the image that hack/workarounds/no-registry/build-drain-proxy-image.sh built.
Checks its metadata, the tools the chart's preStop hook needs, and that the chart's
rendered haproxy.cfg parses inside it. What that config does on a soft stop is tested
with the same Debian haproxy release on the host, in tests/chart/test_drain_proxy.py.

Typical usage example:

    hack/workarounds/no-registry/build-drain-proxy-image.sh
    .venv/bin/python -m pytest tests/hack/test_drain_proxy_image.py
"""

import json
import subprocess
from pathlib import Path

import pytest

from tests.chart.helpers import config_map_data, render, versions_env

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_SECONDS = 30


HAPROXY_VERSION = versions_env()["HAPROXY_VERSION"]
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
    reason=(
        f"{IMAGE} not built (hack/workarounds/no-registry/build-drain-proxy-image.sh) "
        "or no Docker daemon"
    ),
)


def image_config() -> dict:
    return json.loads(
        docker("image", "inspect", "--format", "{{json .Config}}", IMAGE).stdout
    )


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


def test_the_charts_rendered_config_parses_inside_the_image():
    config = config_map_data(render(), "-drain-proxy")["haproxy.cfg"]
    assert "option idle-close-on-response" in config
    result = docker(
        "run", "--rm", "--interactive", IMAGE, "haproxy", "-c", "-f", "/dev/stdin",
        stdin=config,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
