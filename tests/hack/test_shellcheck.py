"""The container-side and user-path scripts pass shellcheck.

Typical usage example:

    .venv/bin/python -m pytest tests/hack/test_shellcheck.py -q
"""

import shutil
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = [
    "hack/dockerd-up.sh",
    "hack/build-python-base.sh",
    "hack/build-standin-image.sh",
    "hack/build-app-images.sh",
    "hack/build-drain-proxy-image.sh",
    "hack/demo.sh",
    "hack/kind-down.sh",
    "hack/chart-testing.sh",
    "hack/local-registry.sh",
    "hack/release.sh",
    "hack/e2e.sh",
    "hack/kind-up.sh",
    "hack/kind-load.sh",
    "hack/cluster/build-kubernetes.sh",
    "hack/cluster/build-kind-node.sh",
    "hack/cluster/install-host-packages.sh",
    "images/tfserving-standin/tensorflow_model_server",
    "images/tfserving-standin/tf_serving_entrypoint.sh",
]


@pytest.mark.skipif(
    shutil.which("shellcheck") is None,
    reason="shellcheck not installed (Debian package shellcheck)",
)
@pytest.mark.parametrize("script", SCRIPTS)
def test_script_passes_shellcheck(script):
    result = subprocess.run(
        ["shellcheck", "--external-sources", script],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_is_executable_and_strict(script):
    path = REPO_ROOT / script
    assert path.stat().st_mode & 0o111, f"{script} is not executable"
    text = path.read_text()
    if text.startswith("#!/usr/bin/env bash"):
        assert "set -o errexit -o nounset -o pipefail" in text


def test_standin_shim_execs_the_server():
    """Regression: without exec the shell stays PID 1 and swallows SIGTERM."""
    shim = (REPO_ROOT / "images/tfserving-standin/tensorflow_model_server").read_text()
    shim = shim.splitlines()
    commands = [line for line in shim if line and not line.lstrip().startswith("#")]
    assert commands[-1].startswith("exec ")
    assert "-m tfserving_standin" in commands[-1] and '"$@"' in commands[-1]
