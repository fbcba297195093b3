"""The rate search behind ``tfs-load capacity`` (and ``selftest``), and its advice.

The open-loop rate steps up geometrically until a step misses the SLO, then
bisects between the highest step that met it and the lowest that missed, until
the two are within ``precision`` of each other. Each step is an ordinary run
with its own warm-up, judged by the run's SLOs and validity gates. A step that
the *generator* could not keep ends the search: what it found is then a lower
bound of the target's capacity, and is never reported as its capacity.

From the capacity, the pods the load was spread over and a target rate,
:func:`recommend` sizes replicas and the chart's HPA request-rate target, with
the arithmetic spelled out.

Typical usage example:

    found = search(run_step, start=50, factor=2, max_rate=5000, precision=0.05)
    advice = recommend(found.best, pods=1, target_rate=400, utilization=0.7)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

MET, MISSED, GENERATOR = "met", "missed", "generator"
# How a search ended.
ENDED_AT_EDGE, ENDED_BY_GENERATOR = "slo-edge", "generator"
ENDED_AT_MAX, ENDED_AT_MIN = "max-rate", "min-rate"
# A failing step whose generator used this much of a core per process cannot be
# told apart from a slow server: its own delays may be what missed the SLO.
GENERATOR_CPU_LIMIT = 0.9
# The chart's example request-rate metric (values.yaml autoscaling.metrics).
HPA_RATE_METRIC = "tensorflow_serving_requests_per_second"


def classify(summary: dict) -> str:
    """MET, MISSED (the target missed the SLO) or GENERATOR (the tool was the limit).

    - MET: every SLO held and the rate went out on time. A late dispatcher can
      only have added to the latencies, which are timed from the schedule.
    - A miss is the generator's when it was busy, or when its dispatcher ran late
      and that lateness could explain the miss: the p99 SLO is the target's own
      miss only if p99 minus the largest dispatch lag still exceeds it (then
      over 1% of requests took longer than the SLO after they were started).
    - Requests that left late although the dispatcher was on time waited, over
      REST, for a pooled connection. The pool is sized rate x SLO x 2, so by
      Little's law it runs dry only once mean latency is over twice the SLO: the
      target's miss. gRPC has no such wait, so there it is the generator's.
    """
    gates = {gate["name"]: gate["ok"] for gate in summary["gates"]}
    slos = {slo["name"]: slo for slo in summary["slo"]}
    sent_on_time = gates.get("achieved_rate", True) and gates.get("backlog", True)
    if sent_on_time and all(slo["ok"] for slo in slos.values()):
        return MET
    if summary["generator"]["cpu_util_per_process"] >= GENERATOR_CPU_LIMIT:
        return GENERATOR
    if not gates.get("dispatch_lag_p99_ms", True):
        lag_max = summary["latency_ms"]["dispatch_lag"]["max"]
        p99 = slos.get("p99_ms")
        beyond_lag = p99 is not None and p99["value"] - lag_max > p99["limit"]
        errors = "error_rate" in slos and not slos["error_rate"]["ok"]
        if not (beyond_lag or errors):
            return GENERATOR
    if not sent_on_time and summary["protocol"] != "rest":
        return GENERATOR
    return MISSED


@dataclass
class Step:
    """One run of the search."""

    rate: float
    phase: str
    outcome: str
    summary: dict


@dataclass
class Found:
    """What a search found: ``best`` met the SLO, ``edge`` (if any) missed it."""

    best: float = 0.0
    edge: float | None = None
    ended_by: str = ENDED_AT_EDGE
    steps: list[Step] = field(default_factory=list)


def search(
    run_step: Callable[[float], dict],
    start: float,
    factor: float,
    max_rate: float,
    precision: float = 0.0,
    attempts: int = 2,
    min_rate: float | None = None,
    judge: Callable[[dict], str] = classify,
    on_step: Callable[[Step], None] | None = None,
) -> Found:
    """Ramp, then bisect; returns the highest rate that met the SLO and the steps.

    Args:
        run_step: runs one step at a rate and returns its summary.
        start, factor, max_rate: the geometric ramp (rates rounded to whole req/s).
        precision: bisect until (edge - best) <= precision x best; 0 = no bisection.
        attempts: runs at one rate before it counts as missed, so one hiccup on a
            shared machine does not end the search.
        min_rate: when the first step misses, step down to this rate (None = stop).
        judge: summary -> MET, MISSED or GENERATOR.
        on_step: called after every run.
    """
    found = Found()

    def outcome_at(rate: float, phase: str) -> str:
        for _ in range(attempts):
            summary = run_step(rate)
            step = Step(rate, phase, judge(summary), summary)
            found.steps.append(step)
            if on_step:
                on_step(step)
            if step.outcome == MET:
                break
        return step.outcome

    def narrow(rate: float, phase: str) -> bool:
        """Run at `rate`, then move best or edge; False once the generator limited."""
        outcome = outcome_at(rate, phase)
        if outcome == GENERATOR:
            found.ended_by = ENDED_BY_GENERATOR
            return False
        if outcome == MET:
            found.best = rate
        else:
            found.edge = rate
        return True

    rate = start
    while found.edge is None:
        if not narrow(rate, "ramp"):
            return found
        if found.edge is None and rate >= max_rate:
            found.ended_by = ENDED_AT_MAX
            return found
        rate = min(max_rate, round(rate * factor))
    while not found.best:
        rate = round(found.edge / factor, 1)
        if min_rate is None:
            return found
        if rate < min_rate:
            found.ended_by = ENDED_AT_MIN
            return found
        if not narrow(rate, "down"):
            return found
    while precision and found.edge - found.best > precision * found.best:
        if not narrow(round((found.best + found.edge) / 2, 1), "bisect"):
            return found
    return found


def most_steps(
    start: float,
    factor: float,
    max_rate: float,
    precision: float,
    attempts: int,
    min_rate: float,
) -> int:
    """An upper bound of the runs a search makes (for a Job's deadline)."""
    ramp = math.ceil(math.log(max(max_rate, start) / start, factor)) + 1
    down = math.ceil(math.log(start / min_rate, factor)) + 1 if start > min_rate else 0
    bisect = math.ceil(math.log2(1 / precision)) + 2 if precision else 0
    return attempts * (max(ramp, down) + bisect)


def recommend(
    capacity: float,
    pods: int,
    target_rate: float,
    utilization: float,
    peak_rate: float | None = None,
) -> dict:
    """Replicas and an HPA request-rate target for ``target_rate``, with the arithmetic.

    Assumes the measured load was spread evenly over ``pods`` and that a pod's
    capacity does not depend on how many there are.

    Args:
        capacity: the highest rate that met the SLO, over all ``pods``.
        pods: pods that served the measured load (1: one pod measured directly).
        target_rate: the steady rate to plan for.
        utilization: the share of a pod's capacity to run it at (headroom for
            bursts and a pod's loss), e.g. 0.7.
        peak_rate: the highest rate the HPA must reach (default: target_rate).
    """
    per_pod = capacity / pods
    per_pod_planned = per_pod * utilization
    peak = peak_rate or target_rate

    def replicas_for(rate: float) -> tuple[int, int, int]:
        by_headroom = math.ceil(rate / per_pod_planned)
        by_pod_loss = math.ceil(rate / per_pod) + 1
        return max(by_headroom, by_pod_loss), by_headroom, by_pod_loss

    replicas, by_headroom, by_pod_loss = replicas_for(target_rate)
    max_replicas = max(replicas, replicas_for(peak)[0])
    average_value = math.floor(per_pod_planned)
    arithmetic = [
        f"per-pod capacity c = {capacity:g} req/s / {pods} pod(s) = "
        f"{per_pod:.1f} req/s",
        f"planned per-pod rate = utilization {utilization:g} x c = "
        f"{per_pod_planned:.1f} req/s",
        f"headroom: ceil({target_rate:g} / {per_pod_planned:.1f}) = {by_headroom}",
        f"one pod lost (rollout, eviction, node drain) still within the SLO: "
        f"ceil({target_rate:g} / {per_pod:.1f}) + 1 = {by_pod_loss}",
        f"replicas = max({by_headroom}, {by_pod_loss}) = {replicas}",
    ]
    if peak != target_rate:
        arithmetic.append(
            f"maxReplicas for the peak {peak:g} req/s, by the same two rules: "
            f"{max_replicas}"
        )
    return {
        "per_pod_capacity_req_s": per_pod,
        "utilization": utilization,
        "target_rate": target_rate,
        "peak_rate": peak,
        "replicas": replicas,
        "arithmetic": arithmetic,
        "values": {
            "autoscaling": {
                "enabled": True,
                "minReplicas": replicas,
                "maxReplicas": max_replicas,
                "targetCPUUtilizationPercentage": 0,
                "metrics": [
                    {
                        "type": "Pods",
                        "pods": {
                            "metric": {"name": HPA_RATE_METRIC},
                            "target": {
                                "type": "AverageValue",
                                "averageValue": str(average_value),
                            },
                        },
                    }
                ],
            }
        },
        "caveats": [
            "the HPA target is a request rate per pod: it needs a metrics adapter "
            f"serving {HPA_RATE_METRIC} (e.g. prometheus-adapter over TF Serving's "
            ":tensorflow:serving:request_count)",
            "no CPU target is derived: this search measured requests, not CPU; "
            "targetCPUUtilizationPercentage 0 leaves CPU out",
            "capacity scales with pods only if the load balances per request "
            "(gRPC over one connection pins to one pod behind a plain Service)",
        ],
    }
