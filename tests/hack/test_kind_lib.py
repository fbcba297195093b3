"""hack/lib/kind.sh: the docker shim for kind switches on only when a probe needs it.

A stub `docker` plays the three answers a privileged probe container can give.

Typical usage example:

    .venv/bin/python -m pytest tests/hack/test_kind_lib.py -q
"""

import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SHIM_DIR = REPO_ROOT / "hack" / "workarounds" / "no-cap-sys-resource"


def probe(tmp_path: Path, stderr: str, status: int) -> subprocess.CompletedProcess:
    stub = tmp_path / "docker"
    stub.write_text(f"#!/bin/sh\necho '{stderr}' >&2\nexit {status}\n")
    stub.chmod(0o755)
    script = (
        f"source {REPO_ROOT}/hack/lib/kind.sh && "
        'use_docker_shim_if_needed some/node:1 && echo "PATH=${PATH}"'
    )
    return subprocess.run(
        ["bash", "-c", script],
        env={"PATH": f"{tmp_path}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_privileged_containers_work_so_no_shim(tmp_path):
    result = probe(tmp_path, "", 0)
    assert result.returncode == 0, result.stderr
    assert str(SHIM_DIR) not in result.stdout
    assert "plain docker" in result.stderr


def test_missing_capability_puts_the_shim_first_on_path(tmp_path):
    result = probe(
        tmp_path,
        "runc create failed: unable to start container process: "
        "unable to apply caps: operation not permitted",
        125,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"PATH={SHIM_DIR}:")
    assert "through" in result.stderr and "apply caps" in result.stderr


@pytest.mark.parametrize("why", ["No such image: some/node:1", "permission denied"])
def test_any_other_failure_stops_with_the_probe_error(tmp_path, why):
    result = probe(tmp_path, why, 1)
    assert result.returncode != 0
    assert why in result.stderr and "docker run --privileged" in result.stderr
