"""Run Python code as after a plain ``pip install .``: TensorFlow cannot be imported.

Typical usage example:

    done = run_python_without_tensorflow("import smoke_tests.cli")
    assert done.returncode == 0, done.stderr
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

# The `export` extra's top-level modules fail to import, as when not installed.
_BLOCKER = textwrap.dedent(
    """\
    import importlib.abc, sys

    class NotInstalled(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("tensorflow", "tensorflow_serving", "keras"):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, NotInstalled())
    """
)


def run_python_without_tensorflow(code: str) -> subprocess.CompletedProcess:
    """Runs ``code`` in a child interpreter where TensorFlow is missing."""
    return subprocess.run(
        [sys.executable, "-c", _BLOCKER + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
