"""Print the pinned requirements of the repo's projects for an image's CPython.

pip resolves the named project directories (``.``, ``testing``, with extras as
``.[export]``) for the image's interpreter and platform (``pip install --dry-run
--report``; nothing is installed), so an image gets what ``pip install`` of them
would give a user on that platform. One ``name==version`` a line, the repo's own
projects left out. With ``--download DIR`` it fetches the wheels of such a list for
the same platform instead. Used by hack/workarounds/no-registry/build-python-base.sh.

Typical usage example:

    .venv/bin/python hack/lib/image_requirements.py --python 3.11 --glibc 36 . testing
    .venv/bin/python hack/lib/image_requirements.py --python 3.11 --glibc 36 \
        --download /tmp/wheels --requirements pins.txt
"""

import argparse
import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PROJECTS = {"tf-serving-k8s", "tf-serving-k8s-testing"}


def target_args(python: str, glibc_minor: int, arch: str) -> list[str]:
    """Returns pip's options for the image's CPython and platform, binary wheels only.

    The --platform list names every manylinux tag down to glibc 2.17: pip does not
    widen manylinux to older glibc by itself.
    """
    tags = [f"manylinux2014_{arch}"]
    tags += [f"manylinux_2_{minor}_{arch}" for minor in range(glibc_minor, 16, -1)]
    platforms = [arg for tag in tags for arg in ("--platform", tag)]
    return ["--only-binary=:all:", "--implementation", "cp", "--python-version", python,
            *platforms]  # fmt: skip


def download(
    requirements: Path, dest: Path, python: str, glibc_minor: int, arch: str
) -> None:
    """Downloads the wheels of a ``name==version`` list for the image's platform.

    Raises:
        SystemExit: pip could not download (its output is shown).
    """
    command = [
        sys.executable, "-m", "pip", "download", "--quiet",
        *target_args(python, glibc_minor, arch),
        "--abi", f"cp{python.replace('.', '')}",
        "--dest", str(dest), "-r", str(requirements),
    ]  # fmt: skip
    done = subprocess.run(command, stdout=sys.stderr, check=False)
    if done.returncode != 0:
        raise SystemExit(f"pip could not download {requirements} for CPython {python}")


def resolve(projects: list[str], python: str, glibc_minor: int, arch: str) -> list[str]:
    """Returns ``name==version`` for every distribution the projects install.

    Args:
        projects: directories relative to the repo root, e.g. ``.``, ``.[export]``.

    Raises:
        SystemExit: pip could not resolve (its output is shown).
    """
    specs = [str(REPO_ROOT / project) for project in projects]
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        command = [
            sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed",
            "--quiet", *target_args(python, glibc_minor, arch),
            "--target", str(Path(tmp) / "target"), "--report", str(report), *specs,
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(
                f"pip could not resolve {specs} for CPython {python}:\n{done.stderr}"
            )
        installs = json.loads(report.read_text())["install"]
    pins = {
        item["metadata"]["name"].lower(): item["metadata"]["version"]
        for item in installs
        if item["metadata"]["name"].lower() not in PROJECTS
    }
    return [f"{name}=={pins[name]}" for name in sorted(pins)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("projects", nargs="*", help="project dirs, e.g. . testing")
    parser.add_argument("--python", required=True, help="image CPython, e.g. 3.11")
    parser.add_argument("--glibc", type=int, required=True, help="glibc 2.N: N")
    parser.add_argument("--arch", default=platform.machine(), help="e.g. x86_64")
    parser.add_argument("--download", type=Path, help="download wheels into this dir")
    parser.add_argument("--requirements", type=Path, help="with --download: the pins")
    args = parser.parse_args(argv)
    if args.download:
        if not args.requirements:
            parser.error(
                "--download needs --requirements FILE (the name==version list)"
            )
        download(args.requirements, args.download, args.python, args.glibc, args.arch)
        return 0
    if not args.projects:
        parser.error("name the project dirs to resolve, e.g. . testing")
    print("\n".join(resolve(args.projects, args.python, args.glibc, args.arch)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
