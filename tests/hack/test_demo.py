"""`make demo SERVER=real` stops early when no image can be pulled.

It points to the offline paths (SERVER=standin, make e2e) instead of hanging.

Both cases use loopback only: a port nobody listens on (the pull is refused at
once) and a listener that accepts and never answers (the pull would hang).

Typical usage example:

    .venv/bin/python -m pytest tests/hack/test_demo.py -q
"""

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from loadtest.loopback import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO = REPO_ROOT / "hack" / "make-rules" / "demo.sh"
KIND_DOWN = REPO_ROOT / "hack" / "make-rules" / "kind-down.sh"
EXIT_NO_PULL = 3
PULL_CHECK_SECONDS = 3


def docker_answers() -> bool:
    try:
        result = subprocess.run(
            ["docker", "info"], capture_output=True, timeout=10, check=False
        )
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


pytestmark = pytest.mark.skipif(
    not docker_answers(),
    reason="no Docker daemon answers (hack/make-rules/dockerd-up.sh)",
)


@pytest.fixture
def silent_registry() -> Iterator[int]:
    """A loopback TCP port that accepts connections and never replies."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield server.getsockname()[1]


def run_demo(node_image: str) -> tuple[subprocess.CompletedProcess, float]:
    env = os.environ | {
        "KIND_NODE_IMAGE": node_image,
        "KIND_CLUSTER": "tf-serving-test-never-created",
        "PULL_CHECK_SECONDS": str(PULL_CHECK_SECONDS),
        "SERVER": "real",
    }
    start = time.monotonic()
    result = subprocess.run(
        [str(DEMO)], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    return result, time.monotonic() - start


@pytest.mark.parametrize("registry", ["refused", "silent"])
def test_demo_stops_early_and_points_to_the_offline_path(registry, request):
    port = (
        request.getfixturevalue("silent_registry")
        if registry == "silent"
        else free_port()
    )
    result, elapsed = run_demo(f"127.0.0.1:{port}/tf-serving-test/node:v0")
    assert result.returncode == EXIT_NO_PULL, result.stderr
    assert "cannot pull" in result.stderr
    assert "make e2e" in result.stderr
    assert "make demo SERVER=standin" in result.stderr
    assert elapsed < PULL_CHECK_SECONDS + 10


def test_kind_down_without_a_cluster_succeeds():
    env = os.environ | {"PATH": f"{REPO_ROOT / 'bin'}:{os.environ['PATH']}"}
    result = subprocess.run(
        [str(KIND_DOWN), "tf-serving-test-never-created"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "nothing to delete" in result.stderr


def test_make_export_checks_memory_against_the_demo_releases_limit():
    import re

    import yaml

    makefile = (REPO_ROOT / "Makefile").read_text()
    limit = re.search(r"^EXPORT_MEMORY_LIMIT \?= (\S+)$", makefile, re.M)
    values = REPO_ROOT / "charts/tf-serving/ci/04-kind-hostpath-values.yaml"
    demo = yaml.safe_load(values.read_text())["resources"]["limits"]["memory"]
    assert limit is not None and limit[1] == demo
    assert '--memory-limit "$(EXPORT_MEMORY_LIMIT)"' in makefile
