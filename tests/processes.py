"""Local server processes for tests: start one, wait until it answers HTTP, stop it.

Typical usage example:

    proc = start_server([sys.executable, "-m", "http.server", "8000"], url, log_path)
    stop(proc)
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
import requests

REPO_ROOT = Path(__file__).resolve().parents[1]
READY_TIMEOUT_S = 60


def start_server(argv: list[str], url: str, log_path: Path) -> subprocess.Popen:
    """Starts a local server process and waits until `url` answers."""
    log = log_path.open("w")
    proc = subprocess.Popen(  # noqa: S603 - the tests' own commands
        argv, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{argv} exited {proc.returncode}:\n{log_path.read_text()}")
        try:
            requests.get(url, timeout=2)
            return proc
        except requests.RequestException:
            time.sleep(0.2)
    proc.kill()
    pytest.fail(f"{argv} did not answer on {url}:\n{log_path.read_text()}")


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL after 10 s."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
