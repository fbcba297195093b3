"""tfs-load capacity: the search, the step verdicts, the plan, and a known capacity.

The search and plan tests use a synthetic target (a step's outcome is a function of
its rate); the end-to-end tests find the capacity of a loopback server throttled
to a fixed rate (the load tester's own target, not TF Serving).
"""

import json
import math

import pytest

from loadtest import capacity, constants
from loadtest.capacity import GENERATOR, MET, MISSED, classify, recommend, search
from loadtest.cli import main
from tests.loadtest.helpers import write_sample_request


def threshold(limit: float, generator_from: float = math.inf):
    """A synthetic target: MET up to `limit`, GENERATOR from `generator_from`."""
    seen = []

    def run_step(rate: float) -> str:
        seen.append(rate)
        if rate >= generator_from:
            return GENERATOR
        return MET if rate <= limit else MISSED

    return run_step, seen


def find(run_step, **kw):
    kw = {"start": 50, "factor": 2, "max_rate": 10_000, "attempts": 1, **kw}
    return search(run_step, judge=lambda outcome: outcome, **kw)


def test_ramp_brackets_the_edge_then_bisection_narrows_it_to_the_precision():
    run_step, seen = threshold(237)
    found = find(run_step, precision=0.05)
    assert seen[:4] == [50, 100, 200, 400]
    assert [s.phase for s in found.steps[4:]] == ["bisect"] * (len(seen) - 4)
    assert found.best <= 237 < found.edge
    assert found.edge - found.best <= 0.05 * found.best
    assert found.ended_by == capacity.ENDED_AT_EDGE
    assert len(seen) <= capacity.most_steps(50, 2, 10_000, 0.05, 1, 1)


def test_a_generator_limited_step_ends_the_search_as_a_lower_bound():
    run_step, seen = threshold(10_000, generator_from=300)
    found = find(run_step, precision=0.05)
    assert seen == [50, 100, 200, 400]
    assert found.best == 200 and found.edge is None
    assert found.ended_by == capacity.ENDED_BY_GENERATOR


def test_a_first_step_that_misses_steps_down_until_one_meets():
    run_step, seen = threshold(30)
    found = find(run_step, precision=0.05, min_rate=1)
    assert seen[:3] == [50, 25.0, 37.5]  # down to 25, then bisect between 25 and 50
    assert found.best <= 30 < found.edge
    assert found.edge - found.best <= 0.05 * found.best


def test_no_rate_down_to_min_rate_meets():
    run_step, seen = threshold(0.5)
    found = find(run_step, precision=0.05, min_rate=10)
    assert seen == [50, 25.0, 12.5]
    assert found.best == 0 and found.ended_by == capacity.ENDED_AT_MIN


def test_every_step_met_up_to_max_rate():
    run_step, seen = threshold(10**9)
    found = find(run_step, max_rate=300, precision=0.05)
    assert seen == [50, 100, 200, 300]
    assert found.best == 300 and found.ended_by == capacity.ENDED_AT_MAX


def test_one_missed_attempt_is_run_again_before_it_counts():
    outcomes = iter([MET, MISSED, MET, MISSED, MISSED])
    found = find(lambda rate: next(outcomes), attempts=2)
    assert [(s.rate, s.outcome) for s in found.steps] == [
        (50, MET),
        (100, MISSED),
        (100, MET),
        (200, MISSED),
        (200, MISSED),
    ]
    assert found.best == 100 and found.edge == 200


def summary(p99=10.0, sent_ok=True, lag_ok=True, lag_max=1.0, cpu=0.1, protocol="grpc"):
    """A step's summary as classify reads it; the p99 SLO is 50 ms."""
    return {
        "protocol": protocol,
        "gates": [
            {"name": "achieved_rate", "ok": sent_ok},
            {"name": "dispatch_lag_p99_ms", "ok": lag_ok},
            {"name": "backlog", "ok": True},
        ],
        "slo": [{"name": "p99_ms", "ok": p99 <= 50, "value": p99, "limit": 50}],
        "latency_ms": {"dispatch_lag": {"max": lag_max}},
        "generator": {"cpu_util_per_process": cpu},
    }


@pytest.mark.parametrize(
    "step, outcome",
    [
        (summary(), MET),
        (summary(lag_ok=False, lag_max=30), MET),
        (summary(p99=80), MISSED),
        (summary(p99=60, lag_ok=False, lag_max=20), GENERATOR),
        (summary(p99=200, lag_ok=False, lag_max=20), MISSED),
        (summary(p99=80, cpu=0.95), GENERATOR),
        (summary(p99=80, sent_ok=False, protocol="rest"), MISSED),
        (summary(sent_ok=False, protocol="grpc"), GENERATOR),
    ],
    ids=[
        "met",
        "met-although-the-dispatcher-was-late",
        "slo-missed",
        "miss-the-late-dispatcher-explains",
        "miss-beyond-the-dispatch-lag",
        "miss-with-a-busy-generator",
        "rest-pool-ran-dry",
        "grpc-sent-late",
    ],
)
def test_step_outcomes(step, outcome):
    assert classify(step) == outcome


def test_recommendation_takes_the_stricter_of_headroom_and_one_pod_lost():
    advice = recommend(200, pods=2, target_rate=500, utilization=0.7, peak_rate=1000)
    assert advice["per_pod_capacity_req_s"] == 100
    # headroom ceil(500 / 70) = 8 beats one pod lost ceil(500 / 100) + 1 = 6.
    assert advice["replicas"] == 8
    hpa = advice["values"]["autoscaling"]
    assert hpa["minReplicas"] == 8
    assert hpa["maxReplicas"] == 15  # ceil(1000 / 70)
    target = hpa["metrics"][0]["pods"]["target"]
    assert target == {"type": "AverageValue", "averageValue": "70"}
    assert "replicas = max(8, 6) = 8" in advice["arithmetic"]


def test_one_pod_lost_decides_at_high_utilization():
    advice = recommend(100, pods=1, target_rate=250, utilization=1.0)
    # headroom ceil(250 / 100) = 3; one pod lost ceil(2.5) + 1 = 4.
    assert advice["replicas"] == 4
    assert advice["values"]["autoscaling"]["maxReplicas"] == 4


# 20 ms a request and a 400 ms p99 SLO: a busy machine's stalls (up to ~300 ms
# measured here) below the capacity stay inside it, while 7% over the capacity
# queues 19 requests (380 ms) past it within one step's 5.5 s.
KNOWN_CAPACITY = 50.0


@pytest.mark.parametrize("protocol", ["rest", "grpc"])
def test_finds_a_throttled_servers_capacity_within_ten_percent(
    make_loopback, tmp_path, protocol
):
    server = make_loopback(capacity=KNOWN_CAPACITY)
    target = server.rest_target if protocol == "rest" else server.grpc_target
    request = write_sample_request(tmp_path / "request")
    out = tmp_path / "capacity"
    code = main(
        [
            "capacity",
            "--protocol",
            protocol,
            "--target",
            target,
            "--request",
            str(request),
            "--max-p99-ms",
            "400",
            "--start-rate",
            "25",
            "--precision",
            "0.1",
            "--step-duration",
            "4",
            # Long enough for a new client's first-second burst to drain at 90%
            # of the capacity.
            "--warmup",
            "1.5",
            "--cooldown",
            "0.5",
            # A shared CI machine: the dispatcher gate is relaxed, as in the
            # other tests that check something else.
            "--max-lag-p99-ms",
            "50",
            "--target-rate",
            "200",
            "--out",
            str(out),
        ]
    )
    result = json.loads((out / "capacity.json").read_text())
    rows = [(r["rate"], r["outcome"], r["p99_ms"]) for r in result["steps"]]
    assert code == constants.EXIT_PASS, rows
    found = result["capacity_req_s"]
    assert abs(found - KNOWN_CAPACITY) <= 0.1 * KNOWN_CAPACITY, rows
    assert result["lowest_missed_req_s"] > found
    advice = result["recommendation"]
    assert advice["replicas"] == max(
        math.ceil(200 / (0.7 * found)), math.ceil(200 / found) + 1
    )
    assert (out / "capacity.png").stat().st_size > 0
    assert "**Capacity:" in (out / "capacity.md").read_text()
    assert len(list((out / "steps").glob("*.json"))) == len(result["steps"])


def test_capacity_needs_a_p99_slo(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["capacity", "--target", "http://127.0.0.1:1", "--model-name", "m"])
    assert exc.value.code == 2
    assert "--max-p99-ms" in capsys.readouterr().err


@pytest.mark.parametrize(
    "flag, value, words",
    [("--factor", "1", "must be > 1"), ("--utilization", "1.5", "must be in (0, 1]")],
)
def test_bad_search_flags_are_refused_with_the_rule(capsys, flag, value, words):
    with pytest.raises(SystemExit):
        main(["capacity", "--max-p99-ms", "50", flag, value])
    assert words in capsys.readouterr().err
