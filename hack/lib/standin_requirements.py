"""Print the stand-in image's runtime requirements, pinned as pyproject.toml pins them.

images/tfserving-standin/runtime-deps.txt names the distributions; the version
specifiers come from [project].dependencies, so the image and the development
venv cannot drift apart. Used by hack/build-standin-image.sh.

Typical usage example:

    python3 hack/lib/standin_requirements.py pyproject.toml \
        images/tfserving-standin/runtime-deps.txt
"""

import re
import sys
import tomllib
from pathlib import Path


def requirements(pyproject: Path, runtime_deps: Path) -> list[str]:
    """Return one pinned requirement per name in ``runtime_deps``.

    Raises:
        SystemExit: runtime_deps names a distribution pyproject.toml lacks.
    """
    deps = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    by_name = {re.split(r"[<>=!~ \[;]", d, maxsplit=1)[0].lower(): d for d in deps}
    wanted = [
        line.strip().lower()
        for line in runtime_deps.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    missing = [name for name in wanted if name not in by_name]
    if missing:
        raise SystemExit(
            f"runtime-deps.txt names {missing} that pyproject.toml does not declare"
        )
    return [by_name[name] for name in wanted]


def main(argv: list[str] | None = None) -> int:
    pyproject, runtime_deps = (Path(arg) for arg in (argv or sys.argv[1:]))
    print("\n".join(requirements(pyproject, runtime_deps)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
