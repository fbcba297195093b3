"""The stand-in image's tensorflow_model_server shim hands its PID to the server.

Shell lint of every script (shellcheck, executable, strict mode) is `make lint`
(hack/verify/shell.sh).

Typical usage example:

    .venv/bin/python -m pytest tests/hack/test_standin_shim.py -q
"""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_standin_shim_execs_the_server():
    """Regression: without exec the shell stays PID 1 and swallows SIGTERM."""
    shim = (REPO_ROOT / "images/tfserving-standin/tensorflow_model_server").read_text()
    shim = shim.splitlines()
    commands = [line for line in shim if line and not line.lstrip().startswith("#")]
    assert commands[-1].startswith("exec ")
    assert "-m tfserving_standin" in commands[-1] and '"$@"' in commands[-1]
