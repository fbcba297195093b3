"""Run P workers (in-process for P=1, spawned processes otherwise) and merge.

Typical usage example:

    merged = run(config)
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import queue as queue_mod

from loadtest.engine import RunConfig, run_worker, worker_entry
from loadtest.recorder import Merged, merge_results

log = logging.getLogger(__name__)


class WorkerError(RuntimeError):
    """A worker process failed; the message carries its error."""


def run_results(cfg: RunConfig) -> list[dict]:
    """Run the configured workers and return their raw results."""
    if cfg.processes <= 1:
        return [run_worker(cfg, 0)]
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(cfg.processes)
    results_q = ctx.Queue()
    procs = [
        ctx.Process(target=worker_entry, args=(cfg, k, barrier, results_q), daemon=True)
        for k in range(cfg.processes)
    ]
    for proc in procs:
        proc.start()
    timeout = cfg.warmup_s + cfg.duration_s + cfg.deadline_s + 120
    results: dict[int, dict] = {}
    errors: list[str] = []
    try:
        for _ in procs:
            index, result, error = results_q.get(timeout=timeout)
            if error:
                errors.append(f"worker {index}: {error}")
            else:
                results[index] = result
    except queue_mod.Empty:
        errors.append(f"timed out after {timeout:.0f}s waiting for workers")
    finally:
        for proc in procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
    if errors:
        raise WorkerError("; ".join(errors))
    return [results[k] for k in sorted(results)]


def run(cfg: RunConfig) -> Merged:
    """Run the load and return the merged result."""
    return merge_results(run_results(cfg))
