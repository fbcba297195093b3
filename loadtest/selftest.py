"""Measure the load generator's own ceiling against the loopback servers.

The rate is raised geometrically until a run is INVALID (a validity gate
failed) or has errors; the last valid rate is the ceiling per the given
number of client processes.

Typical usage example:

    python -m loadtest selftest --protocols rest,grpc
"""

from __future__ import annotations

import logging

from loadtest import constants
from loadtest.capacity import MET, MISSED, Step, search
from loadtest.engine import RunConfig
from loadtest.loopback import (
    LoopbackServer,
    predict_request_bytes,
    rest_request_bytes,
)
from loadtest.recorder import merge_results
from loadtest.report import Limits, build_summary
from loadtest.runner import run_results
from loadtest.schedule import backlog_bound

log = logging.getLogger(__name__)


def step_config(
    protocol: str,
    server: LoopbackServer,
    rate: float,
    duration_s: float,
    warmup_s: float,
    processes: int,
    connections: int,
    rest_body: bytes | None = None,
    grpc_request: bytes | None = None,
) -> RunConfig:
    """RunConfig for one open-loop step against the loopback server."""
    target = server.rest_target if protocol == "rest" else server.grpc_target
    if protocol == "rest":
        conns = connections or min(
            constants.MAX_REST_CONNECTIONS,
            max(constants.MIN_REST_CONNECTIONS, int(rate * 0.02)),
        )
    else:
        conns = connections or constants.DEFAULT_GRPC_CONNECTIONS
    return RunConfig(
        protocol=protocol,
        target=target,
        model_name=server.model_name,
        rest_body=rest_body or rest_request_bytes(),
        grpc_request=grpc_request or predict_request_bytes(server.model_name),
        rate=rate,
        duration_s=duration_s,
        warmup_s=warmup_s,
        connections=conns,
        processes=processes,
        max_backlog=backlog_bound(rate, constants.DEFAULT_MAX_BACKLOG_S),
    )


def find_ceiling(
    protocol: str,
    server: LoopbackServer,
    start_rate: float,
    factor: float,
    max_rate: float,
    step_s: float,
    warmup_s: float,
    processes: int = 1,
    connections: int = 0,
    limits: Limits | None = None,
    on_step=None,
    attempts: int = 2,
) -> tuple[float, list[dict]]:
    """Ramp the rate; return (highest valid rate, per-step summaries).

    The ramp is tfs-load capacity's (without bisection): a rate fails only when
    all ``attempts`` runs at it are INVALID or have errors, so one scheduling
    hiccup on a shared machine does not end it.
    """
    limits = limits or Limits()

    def run_step(rate: float) -> dict:
        cfg = step_config(
            protocol, server, rate, step_s, warmup_s, processes, connections
        )
        return build_summary(cfg, merge_results(run_results(cfg)), limits)

    def judge(summary: dict) -> str:
        valid = summary["verdict"] != "INVALID" and summary["counts"]["errors"] == 0
        return MET if valid else MISSED

    def report(step: Step) -> None:
        if on_step:
            on_step(protocol, step.rate, step.summary, step.outcome == MET)

    found = search(
        run_step, start_rate, factor, max_rate, attempts=attempts, judge=judge,
        on_step=report,
    )  # fmt: skip
    return found.best, [step.summary for step in found.steps]
