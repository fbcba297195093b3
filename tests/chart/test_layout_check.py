"""The init container's layout check (charts/tf-serving/files) run with /bin/sh.

Typical usage example:

    .venv/bin/python -m pytest tests/chart/test_layout_check.py -q
"""

import subprocess
from pathlib import Path

import pytest

from tests.chart.helpers import CHART_DIR, pod_spec, render

SCRIPT = CHART_DIR / "files" / "check-model-layout.sh"


def run_check(*args: str) -> subprocess.CompletedProcess:
    """Run the script the way the init container does: sh -c SCRIPT NAME ARGS."""
    return subprocess.run(
        ["/bin/sh", "-c", SCRIPT.read_text(), "check-model-layout", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )


def add_version(base: Path, version: str) -> None:
    (base / version / "variables").mkdir(parents=True)
    (base / version / "saved_model.pb").write_bytes(b"\x08\x01")


def test_rendered_init_container_runs_the_script_shipped_in_the_chart():
    (init,) = pod_spec(render())["initContainers"]
    assert init["command"][2].strip() == SCRIPT.read_text().strip()


def test_a_numbered_version_with_saved_model_passes(tmp_path: Path):
    add_version(tmp_path / "m", "1")
    (tmp_path / "m" / "tmp-2").mkdir()
    result = run_check("m", str(tmp_path / "m"), "")
    assert result.returncode == 0, result.stderr
    assert 'model "m": versions 1' in result.stdout


@pytest.mark.parametrize(
    "layout", ["missing", "empty", "unversioned"], ids=lambda name: f"{name}-dir"
)
def test_a_model_without_a_numbered_saved_model_fails_naming_the_expected_path(
    tmp_path: Path, layout: str
):
    base = tmp_path / "m"
    if layout != "missing":
        base.mkdir()
    if layout == "unversioned":
        (base / "saved_model.pb").write_bytes(b"")
        (base / "latest").mkdir()
    result = run_check("m", str(base), "")
    assert result.returncode == 1
    assert f"{base}/<version>/saved_model.pb" in result.stderr
    assert f"{base}/1/saved_model.pb" in result.stderr


def test_every_model_is_checked_and_a_missing_specific_version_fails(tmp_path: Path):
    add_version(tmp_path / "a", "1")
    add_version(tmp_path / "b", "2")
    result = run_check("a", str(tmp_path / "a"), "", "b", str(tmp_path / "b"), "2,3")
    assert result.returncode == 1
    assert 'OK: model "a"' in result.stdout
    assert "version 3 is in specificVersions" in result.stderr
    assert f"{tmp_path / 'b'}/3/saved_model.pb is missing" in result.stderr
