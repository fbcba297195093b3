"""The chart's releases in git: the version-bump check and the previous release.

A release is the chart at the last commit that set its `version` in Chart.yaml, so
one version names one content (as helm's chart-testing enforces against a target
branch). Here the base is history itself: the chart in the working tree must equal
the chart at the commit that set its version, or carry a higher version.

Typical usage example:

    python hack/verify/chart_releases.py check      # exit 1 names the fix
    python hack/verify/chart_releases.py current    # "0.6.0"
    python hack/verify/chart_releases.py previous --extract /tmp/prev  # "0.5.0 <sha>"
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
CHART_DIR = REPO_ROOT / "charts" / "tf-serving"
# SemVer 2 (https://semver.org), which Helm requires of chart versions.
SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")


class ReleaseError(Exception):
    """The chart's version and content disagree; the message names the fix."""


@dataclasses.dataclass(frozen=True)
class Release:
    """One chart version and the commit that set it."""

    version: str
    commit: str


def semver_key(version: str) -> tuple:
    """Sort key by SemVer precedence (a pre-release sorts before its release)."""
    match = SEMVER.match(version)
    if not match:
        raise ReleaseError(f"chart version {version!r} is not SemVer 2 (e.g. 0.5.0)")
    core = tuple(int(part) for part in match.group(1, 2, 3))
    pre = match.group(4)
    if pre is None:
        return (*core, 1, ())
    ids = tuple((0, int(i), "") if i.isdigit() else (1, 0, i) for i in pre.split("."))
    return (*core, 0, ids)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def chart_version(text: str) -> str:
    return str(yaml.safe_load(text)["version"])


def current_version(chart_dir: Path) -> str:
    """The working tree's chart version."""
    return chart_version((chart_dir / "Chart.yaml").read_text())


def repo_and_path(chart_dir: Path) -> tuple[Path, Path]:
    """(repository root, chart_dir relative to it)."""
    repo = Path(git(chart_dir, "rev-parse", "--show-toplevel").strip())
    return repo, chart_dir.resolve().relative_to(repo)


def releases(chart_dir: Path) -> list[Release]:
    """Every commit that changed the `version:` line of Chart.yaml, newest first."""
    repo, rel = repo_and_path(chart_dir)
    chart_yaml = rel / "Chart.yaml"
    commits = git(
        repo, "log", "--format=%H", "-G", r"^version:", "--", str(chart_yaml)
    ).split()
    return [
        Release(chart_version(git(repo, "show", f"{c}:{chart_yaml}")), c)
        for c in commits
    ]


def changed_since(chart_dir: Path, commit: str) -> list[str]:
    """Files under chart_dir that differ from `commit` (working tree, untracked too)."""
    diff = git(chart_dir, "diff", "--name-only", commit, "--", ".").split()
    untracked = git(
        chart_dir,
        "ls-files",
        "--others",
        "--exclude-standard",
        "--full-name",
        "--",
        ".",
    ).split()
    return sorted(set(diff) | set(untracked))


def check(chart_dir: Path) -> str:
    """Raises ReleaseError unless the chart's version names its content; says why."""
    current = current_version(chart_dir)
    semver_key(current)
    history = releases(chart_dir)
    if not history:
        return f"{current}: first release"
    last = history[0]
    if current == last.version:
        changed = changed_since(chart_dir, last.commit)
        if changed:
            raise ReleaseError(
                f"the chart changed since version {current} was set (commit "
                f"{last.commit[:12]}) but its version did not: {', '.join(changed)}. "
                "Bump `version` in Chart.yaml and add an Upgrading note to "
                "README.md.gotmpl when values or behaviour changed."
            )
        return f"{current}: unchanged since commit {last.commit[:12]}"
    if semver_key(current) <= semver_key(last.version):
        raise ReleaseError(
            f"chart version {current} is not above the last release {last.version} "
            f"(commit {last.commit[:12]}): set a higher SemVer in Chart.yaml"
        )
    return f"{current}: new release after {last.version} (commit {last.commit[:12]})"


def previous(chart_dir: Path) -> Release:
    """The newest release whose version differs from the working tree's."""
    current = current_version(chart_dir)
    for release in releases(chart_dir):
        if release.version != current:
            return release
    raise ReleaseError(f"no chart version before {current} in git history")


def extract(chart_dir: Path, release: Release, dest: Path) -> Path:
    """Writes the chart as of `release` under dest; returns its directory."""
    repo, rel = repo_and_path(chart_dir)
    archive = subprocess.run(
        ["git", "-C", str(repo), "archive", release.commit, str(rel)],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
    return dest / rel


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chart", type=Path, default=CHART_DIR, help="chart dir")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="fail unless the version names the chart's content")
    sub.add_parser("current", help="print the working tree's chart version")
    prev = sub.add_parser("previous", help="print the previous release")
    prev.add_argument("--extract", type=Path, help="also write that chart under DIR")
    args = parser.parse_args(argv)
    try:
        if args.command == "check":
            print(f"chart version check: {check(args.chart)}")
            return 0
        if args.command == "current":
            print(current_version(args.chart))
            return 0
        release = previous(args.chart)
        line = f"{release.version} {release.commit}"
        if args.extract:
            line += f" {extract(args.chart, release, args.extract)}"
        print(line)
        return 0
    except ReleaseError as err:
        print(f"chart version check: ERROR: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
