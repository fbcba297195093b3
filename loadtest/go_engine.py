"""The Go engine: one worker's load sent by ``tfs-load-engine`` (loadengine/).

It keeps the schedule this package computes (``loadtest.schedule``) and writes
every request's four timestamps, which go through the same ``Recorder``: the
histograms, gates and reports are those of the Python engine. It exists for
rates one Python process cannot keep (see ``make bench``).

Typical usage example:

    result = run_worker(config)   # config.engine == "go"
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from loadtest import constants
from loadtest.engine import worker_connections
from loadtest.recorder import Recorder
from loadtest.runner import WorkerError
from loadtest.schedule import arrivals

BINARY = "tfs-load-engine"
BINARY_ENV = "TFS_LOAD_ENGINE"
_REPO_BINARY = Path(__file__).resolve().parents[1] / "bin" / BINARY
ROW = np.dtype(
    [
        ("scheduled", "<i8"),
        ("dispatched", "<i8"),
        ("sent", "<i8"),
        ("done", "<i8"),
        ("outcome", "<i4"),
    ]
)


class EngineError(WorkerError):
    """The Go engine is missing or failed; the message says which and why."""


def binary() -> str:
    """``$TFS_LOAD_ENGINE``, else ``tfs-load-engine`` on PATH, else ``bin/``."""
    explicit = os.environ.get(BINARY_ENV)
    if explicit:
        return explicit
    found = shutil.which(BINARY)
    if found:
        return found
    if _REPO_BINARY.is_file():
        return str(_REPO_BINARY)
    raise EngineError(
        f"--engine go needs the {BINARY} binary: build it with `make tools` (Go "
        f"1.26) or `go build -o bin/{BINARY} ./loadengine`, or set {BINARY_ENV}"
    )


def engine_config(cfg, tmp: Path) -> dict:
    """The engine's stdin JSON for ``cfg`` (a RunConfig), files under ``tmp``."""
    body = tmp / "body"
    body.write_bytes(cfg.rest_body if cfg.protocol == "rest" else cfg.grpc_request)
    span = cfg.warmup_s + cfg.duration_s
    config = {
        "protocol": cfg.protocol,
        "url": cfg.rest_url,
        "target": cfg.target,
        "method": constants.GRPC_PREDICT_METHOD,
        "body_file": str(body),
        "connections": worker_connections(cfg),
        "deadline_s": cfg.deadline_s,
        "closed_loop": cfg.closed_loop,
        "concurrency": cfg.concurrency,
        "span_s": span,
        "max_backlog": cfg.max_backlog,
        "max_behind_s": cfg.max_behind_s,
        "records_file": str(tmp / "rows"),
    }
    if not cfg.closed_loop:
        schedule = tmp / "schedule"
        arrivals(cfg.rate, span, cfg.arrival, cfg.seed).astype("<i8").tofile(schedule)
        config["schedule_file"] = str(schedule)
    return config


def worker_result(cfg, rows: np.ndarray, result: dict) -> dict:
    """The Python engine's worker result from the engine's rows and footer."""
    measure_ns = int(cfg.warmup_s * 1e9)
    late_after = None
    if not cfg.closed_loop:
        late_after = (
            measure_ns + int(cfg.duration_s * 1e9) + int(cfg.on_time_allowance_s * 1e9)
        )
    rec = Recorder(measure_ns, int(round(cfg.duration_s)), late_after)
    outcomes = [(o["status"], o["error"] or None) for o in result["outcomes"]]
    for sched, disp, sent, done, outcome in rows.tolist():
        warm = sched < measure_ns
        if sent < 0:
            if not warm:
                rec.on_scheduled(sched)
        elif warm:
            rec.warmup_requests += 1
        else:
            rec.on_scheduled(sched)
            rec.on_sent(sent)
            rec.record(sched, disp, sent, done, *outcomes[outcome])
    return rec.to_result() | {
        "max_backlog": result["max_backlog"],
        "aborted": result["aborted"],
        "abort_reason": result["abort_reason"],
        "cpu_s": result["cpu_s"],
        "wall_s": result["wall_s"],
    }


def run_worker(cfg) -> dict:
    """Run ``cfg`` (a RunConfig) on the Go engine; the worker result dict."""
    with tempfile.TemporaryDirectory(prefix="tfs-load-go-") as name:
        tmp = Path(name)
        config = engine_config(cfg, tmp)
        timeout = cfg.warmup_s + cfg.duration_s + cfg.deadline_s + 120
        try:
            proc = subprocess.run(
                [binary()],
                input=json.dumps(config),
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise EngineError(f"{BINARY} did not finish in {timeout:.0f} s") from exc
        if proc.returncode != 0:
            raise EngineError(
                f"{BINARY} exited {proc.returncode}: {proc.stderr.strip()[-800:]}"
            )
        rows = np.fromfile(tmp / "rows", dtype=ROW)
        return worker_result(cfg, rows, json.loads(proc.stdout))
