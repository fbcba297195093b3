"""Measures the resident memory a SavedModel version needs once loaded.

A child process (this interpreter: ``python -m model_export.memory_probe``)
imports TensorFlow, runs one op so the runtime's own start-up is not counted,
reads its resident set (``VmRSS`` in /proc/self/status), resets the peak
(``VmHWM``, by writing 5 to /proc/self/clear_refs), loads the version and calls
serving_default once on the sample request (publish.run_serving_default), then
reads both again. A child, because the exporting process already holds the model
and TensorFlow's allocator does not hand freed memory back. The figure is the
Python TensorFlow runtime's, of the same TensorFlow version as the server's, not a
reading of tensorflow_model_server itself. It is never below the variables' size on
disk: freed pages the allocator reuses can hide part of the weights from VmRSS, and
an undercount is the lenient side of a memory check.

Typical usage example:

    figure = measure(Path("models/m/.tmp-x"), {"features": x})
    figure["loaded_bytes"], figure["peak_bytes"]
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from model_export.errors import ExportError

logger = logging.getLogger(__name__)

STATUS = Path("/proc/self/status")
CLEAR_REFS = Path("/proc/self/clear_refs")
TIMEOUT_S = 600
METHOD = (
    "child process (python -m model_export.memory_probe): VmRSS from "
    "/proc/self/status after importing TensorFlow and running one op, then after "
    "tf.saved_model.load() and one serving_default call on the sample request; "
    "peak is VmHWM after that, less the first VmRSS; neither is below the size of "
    "variables/ on disk (the weights are resident once loaded, and pages the "
    "allocator reuses can hide part of them from VmRSS)"
)


def _read_status() -> dict[str, int]:
    """VmRSS and VmHWM of this process, in bytes."""
    found = {}
    for line in STATUS.read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0]) * 1024
    return found


def variables_bytes(version_dir: Path) -> int:
    """Bytes of the SavedModel's variables/ files (its weights as stored)."""
    folder = version_dir / "variables"
    return (
        sum(f.stat().st_size for f in folder.iterdir() if f.is_file())
        if folder.is_dir()
        else 0
    )


def _reset_peak() -> bool:
    """Resets VmHWM to the current VmRSS; False where the kernel refuses."""
    try:
        CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def measure(version_dir: Path, sample_inputs: dict[str, np.ndarray]) -> dict | None:
    """Loads the version in a child process and returns its memory figures.

    Args:
        version_dir: A SavedModel directory (the staging copy works).
        sample_inputs: Signature input key -> batch of sample rows.

    Returns:
        {"loaded_bytes", "peak_bytes", "baseline_bytes", "seconds", "method",
        "tensorflow_version"}, or None where /proc/self/status does not exist.

    Raises:
        ExportError: the child failed or timed out.
    """
    if not STATUS.is_file():
        logger.warning(
            "resident memory not measured: %s does not exist (not Linux); the "
            "version's memory cannot be checked before it loads",
            STATUS,
        )
        return None
    with tempfile.TemporaryDirectory(prefix="tfs-memory-") as tmp:
        sample_file, out_file = Path(tmp) / "sample.npz", Path(tmp) / "figure.json"
        np.savez(sample_file, **sample_inputs)
        command = [sys.executable, "-m", __name__, str(version_dir), str(sample_file)]
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
        started = time.monotonic()
        try:
            child = subprocess.run(
                [*command, str(out_file)],
                capture_output=True,
                text=True,
                env=env,
                timeout=TIMEOUT_S,
            )
        except subprocess.TimeoutExpired as err:
            raise ExportError(
                f"measuring the memory of {version_dir} took over {TIMEOUT_S} s; "
                "check the machine is not swapping"
            ) from err
        if child.returncode != 0:
            tail = "\n".join(child.stderr.strip().splitlines()[-5:])
            raise ExportError(
                f"loading {version_dir} in a child process to measure its memory "
                f"failed (exit {child.returncode}): {tail}; the server would fail "
                "the same way, fix the model before publishing it"
            )
        figure = json.loads(out_file.read_text())
    logger.info(
        "measured %s: %.1f MiB resident, %.1f MiB peak (child took %.1f s)",
        version_dir,
        figure["loaded_bytes"] / 2**20,
        figure["peak_bytes"] / 2**20,
        time.monotonic() - started,
    )
    return figure


def main(argv: list[str] | None = None) -> int:
    """Child side: VERSION_DIR SAMPLE_NPZ OUT_JSON; writes the figures to OUT_JSON."""
    version_dir, sample_file, out_file = argv if argv is not None else sys.argv[1:]
    import tensorflow as tf

    from model_export.publish import run_serving_default

    with np.load(sample_file, allow_pickle=True) as arrays:
        sample = {key: arrays[key] for key in arrays.files}
    tf.constant(1.0) + 1.0
    before = _read_status()["VmRSS"]
    reset = _reset_peak()
    started = time.monotonic()
    run_serving_default(Path(version_dir), sample)
    seconds = time.monotonic() - started
    after = _read_status()
    method = METHOD if reset else f"{METHOD} (VmHWM not reset: includes the import)"
    rss_delta = max(after["VmRSS"] - before, 0)
    weights = variables_bytes(Path(version_dir))
    figure = {
        "loaded_bytes": max(rss_delta, weights),
        "peak_bytes": max(after["VmHWM"] - before, rss_delta, weights),
        "rss_delta_bytes": rss_delta,
        "variables_bytes": weights,
        "baseline_bytes": before,
        "seconds": round(seconds, 3),
        "method": method,
        "tensorflow_version": tf.__version__,
    }
    Path(out_file).write_text(json.dumps(figure))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
