"""The GitHub Actions workflows pass actionlint and follow the house CI rules.

Typical usage example:

    .venv/bin/python -m pytest tests/hack/test_workflows.py -q
"""

import re
import subprocess
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
ACTIONLINT = REPO_ROOT / "bin" / "actionlint"
WORKFLOWS_DIR = REPO_ROOT / ".github" / "workflows"
WORKFLOWS = sorted(WORKFLOWS_DIR.glob("*.y*ml"))
FULL_SHA_WITH_VERSION = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def load(path: Path) -> dict:
    """Parse a workflow; PyYAML reads the bare `on:` key as True."""
    return yaml.safe_load(path.read_text())


def test_there_is_a_workflow():
    assert WORKFLOWS, f"no workflow files in {WORKFLOWS_DIR}"


@pytest.mark.skipif(
    not ACTIONLINT.exists(), reason="bin/actionlint missing: run make tools"
)
def test_actionlint_passes_on_every_workflow():
    result = subprocess.run(
        [str(ACTIONLINT), "-no-color", *map(str, WORKFLOWS)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_grants_no_permissions_at_the_top(path):
    assert load(path).get("permissions") == {}


# The one write a job may ask for: the release job pushes the chart and images to GHCR.
ALLOWED_WRITES = {("release.yaml", "publish"): {"packages": "write"}}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_job_has_a_timeout_and_its_own_permissions(path):
    for name, job in load(path)["jobs"].items():
        assert isinstance(job.get("timeout-minutes"), int), f"job {name}: no timeout"
        assert "permissions" in job, f"job {name}: no permissions block"
        writes = {k: v for k, v in job["permissions"].items() if v == "write"}
        allowed = ALLOWED_WRITES.get((path.name, name), {})
        assert writes == allowed, f"job {name}: asks to write {writes}"


def test_the_release_runs_only_on_version_tags():
    triggers = load(WORKFLOWS_DIR / "release.yaml")[True]
    assert set(triggers) == {"push"}, triggers
    assert triggers["push"] == {"tags": ["v*.*.*"]}, triggers


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_actions_are_pinned_by_full_sha_with_a_version_comment(path):
    uses_lines = [
        line.strip() for line in path.read_text().splitlines() if "uses:" in line
    ]
    for line in uses_lines:
        ref, _, comment = line.split("uses:", 1)[1].partition("#")
        assert FULL_SHA_WITH_VERSION.match(ref.strip()), f"not pinned by SHA: {line}"
        assert re.fullmatch(r" v\d+\.\d+\.\d+", comment), f"no # vX.Y.Z: {line}"


def steps_of(path: Path) -> list[dict]:
    return [s for job in load(path)["jobs"].values() for s in job.get("steps", [])]


# Workflows that start a cluster must show its state when they fail.
CLUSTER_WORKFLOWS = [
    p for p in WORKFLOWS if any("make demo" in s.get("run", "") for s in steps_of(p))
]


def test_the_user_path_workflow_starts_a_cluster():
    assert [p.name for p in CLUSTER_WORKFLOWS] == ["e2e.yaml"]


@pytest.mark.parametrize("path", CLUSTER_WORKFLOWS, ids=lambda p: p.name)
def test_a_failure_only_step_dumps_diagnostics_in_groups(path):
    dumps = [s for s in steps_of(path) if s.get("if") == "failure()"]
    assert dumps, "no `if: failure()` diagnostics step"
    script = "\n".join(s.get("run", "") for s in dumps)
    assert "::group::" in script and "kubectl" in script and "logs" in script
