"""hack/verify/chart_releases.py: one chart version names one content; previous release.

Each test builds a small git repository with a chart in it, so history is real.

Typical usage example:

    .venv/bin/python -m pytest tests/hack/test_chart_releases.py -q
"""

import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "hack" / "verify"))
import chart_releases  # noqa: E402

sys.path.pop(0)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout


def commit_chart(repo: Path, version: str, values: str, message: str) -> str:
    """Writes Chart.yaml and values.yaml under charts/demo, commits, returns the sha."""
    chart = repo / "charts" / "demo"
    chart.mkdir(parents=True, exist_ok=True)
    (chart / "Chart.yaml").write_text(
        f"apiVersion: v2\nname: demo\nversion: {version}\n"
    )
    (chart / "values.yaml").write_text(values)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q")
    git(tmp_path, "config", "user.email", "test@example.com")
    git(tmp_path, "config", "user.name", "test")
    return tmp_path


def test_unchanged_chart_passes(repo: Path) -> None:
    sha = commit_chart(repo, "0.1.0", "a: 1\n", "chart 0.1.0")
    assert chart_releases.check(repo / "charts" / "demo") == (
        f"0.1.0: unchanged since commit {sha[:12]}"
    )


def test_change_without_bump_fails_and_names_the_files(repo: Path) -> None:
    commit_chart(repo, "0.1.0", "a: 1\n", "chart 0.1.0")
    commit_chart(repo, "0.1.0", "a: 2\n", "values change, no bump")
    (repo / "charts" / "demo" / "templates").mkdir()
    (repo / "charts" / "demo" / "templates" / "new.yaml").write_text("{}\n")
    with pytest.raises(chart_releases.ReleaseError) as err:
        chart_releases.check(repo / "charts" / "demo")
    message = str(err.value)
    assert "charts/demo/values.yaml" in message
    assert "charts/demo/templates/new.yaml" in message
    assert "Bump `version` in Chart.yaml" in message


def test_uncommitted_bump_passes(repo: Path) -> None:
    commit_chart(repo, "0.1.0", "a: 1\n", "chart 0.1.0")
    chart = repo / "charts" / "demo"
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: demo\nversion: 0.2.0\n")
    (chart / "values.yaml").write_text("a: 2\n")
    assert chart_releases.check(chart).startswith("0.2.0: new release after 0.1.0")


@pytest.mark.parametrize("lower", ["0.0.9", "0.1.0-rc.1"])
def test_lower_version_fails(repo: Path, lower: str) -> None:
    commit_chart(repo, "0.1.0", "a: 1\n", "chart 0.1.0")
    chart = repo / "charts" / "demo"
    (chart / "Chart.yaml").write_text(f"apiVersion: v2\nname: demo\nversion: {lower}\n")
    with pytest.raises(chart_releases.ReleaseError, match="not above the last release"):
        chart_releases.check(chart)


def test_version_that_is_not_semver_fails(repo: Path) -> None:
    commit_chart(repo, "0.1.0", "a: 1\n", "chart 0.1.0")
    chart = repo / "charts" / "demo"
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: demo\nversion: v1\n")
    with pytest.raises(chart_releases.ReleaseError, match="not SemVer 2"):
        chart_releases.check(chart)


def test_semver_precedence() -> None:
    ordered = ["0.9.0", "0.10.0-alpha", "0.10.0-alpha.2", "0.10.0-beta", "0.10.0"]
    assert sorted(ordered, key=chart_releases.semver_key) == ordered


def test_previous_release_is_the_last_other_version_and_extracts(
    repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    first = commit_chart(repo, "0.1.0", "a: 1\n", "chart 0.1.0")
    commit_chart(repo, "0.1.0", "a: 2\n", "unreleased change")
    commit_chart(repo, "0.2.0", "a: 3\n", "chart 0.2.0")
    chart = repo / "charts" / "demo"
    previous = chart_releases.previous(chart)
    assert previous == chart_releases.Release("0.1.0", first)
    dest = chart_releases.extract(chart, previous, tmp_path_factory.mktemp("prev"))
    assert (dest / "values.yaml").read_text() == "a: 1\n"
    assert "version: 0.1.0" in (dest / "Chart.yaml").read_text()


def test_cli_check_reports_the_error_and_exits_1(
    repo: Path, capsys: pytest.CaptureFixture
) -> None:
    commit_chart(repo, "0.1.0", "a: 1\n", "chart 0.1.0")
    (repo / "charts" / "demo" / "values.yaml").write_text("a: 9\n")
    code = chart_releases.main(["--chart", str(repo / "charts" / "demo"), "check"])
    assert code == 1
    assert "ERROR: the chart changed since version 0.1.0" in capsys.readouterr().err


def test_this_repositorys_chart_names_its_content() -> None:
    assert chart_releases.main(["check"]) == 0
