"""Helpers shared by the load tester tests.

Typical usage example:

    code, summary = run_cli(tmp_path, "--protocol", "rest", "--target", url)
"""

import json
from pathlib import Path

from loadtest.cli import main

# Shared CI machines are busy; the generator-health gates are relaxed in tests
# that check something else, and kept strict in the INVALID-run test.
RELAXED_GATES = ("--max-lag-p99-ms", "1000", "--max-backlog-s", "30")


def write_sample_request(directory: Path) -> Path:
    """Write a fashion-MNIST-shaped sample_request.json plus export_metadata.json."""
    directory.mkdir(parents=True, exist_ok=True)
    image = [[[0.5] for _ in range(28)] for _ in range(28)]
    request = {"signature_name": "serving_default", "instances": [image]}
    (directory / "sample_request.json").write_text(json.dumps(request))
    meta = {
        "model_name": "loopback",
        "signature_name": "serving_default",
        "inputs": {"image": {"dtype": "float32", "shape": [-1, 28, 28, 1]}},
        "outputs": {"probabilities": {"dtype": "float32", "shape": [-1, 10]}},
    }
    (directory / "export_metadata.json").write_text(json.dumps(meta))
    return directory / "sample_request.json"


def run_cli(out: Path, *args: str) -> tuple[int, dict | None]:
    """Run ``loadtest run`` in-process; return (exit code, summary or None)."""
    code = main(["run", "--model-name", "loopback", "--out", str(out), *args])
    summary_path = out / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else None
    return code, summary
