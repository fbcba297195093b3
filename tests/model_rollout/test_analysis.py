"""The canary decision on synthetic loadtest summaries (no server)."""

from __future__ import annotations

import math

import pytest

from model_rollout.analysis import (
    EXIT_INVALID,
    EXIT_PROMOTED,
    EXIT_ROLLED_BACK,
    INVALID,
    PROMOTE,
    ROLLBACK,
    Budgets,
    decide,
    p99_allowance_ms,
    render_markdown,
    table,
)

GOLDEN_OK = {"ok": True, "rtol": 1e-5, "atol": 1e-6, "max_abs_diff": 0.0}
GOLDEN_BAD = {"ok": False, "rtol": 1e-5, "atol": 1e-6, "detail": "differs"}


def summary(
    sent: int = 1000,
    errors: int = 0,
    p99: float = 10.0,
    p50: float = 5.0,
    verdict: str = "PASS",
    failed_gates: tuple[str, ...] = (),
) -> dict:
    """The parts of loadtest.report.build_summary() the decision reads."""
    ok = sent - errors
    gates = [{"name": g, "ok": False} for g in failed_gates]
    gates.append({"name": "backlog", "ok": True})
    return {
        "rate": {"target": 40.0, "achieved_send": sent / 3},
        "counts": {"sent": sent, "ok": ok, "errors": errors},
        "error_rate": errors / sent if sent else 0.0,
        "errors_by_kind": {"http_500": errors} if errors else {},
        "latency_ms": {
            "corrected": {"p50": p50 if ok else 0.0, "p99": p99 if ok else 0.0}
        },
        "verdict": verdict,
        "gates": gates,
    }


def test_a_canary_as_good_as_stable_is_promoted():
    result = decide(summary(), summary(sent=250), GOLDEN_OK, Budgets())
    assert result["decision"] == PROMOTE
    assert result["exit_code"] == EXIT_PROMOTED
    assert [c["ok"] for c in result["checks"]] == [True, True, True]


def test_more_errors_than_the_budget_roll_back():
    stable = summary(sent=10_000, errors=10)  # 0.1 %
    canary = summary(sent=1000, errors=3)  # 0.3 % > 0.1 % + 0.1 %
    result = decide(stable, canary, GOLDEN_OK, Budgets())
    assert result["decision"] == ROLLBACK
    assert result["exit_code"] == EXIT_ROLLED_BACK
    assert not result["checks"][0]["ok"]
    assert result["checks"][0]["limit"] == pytest.approx(0.002)


def test_errors_within_the_budget_pass():
    stable = summary(sent=10_000, errors=10)
    canary = summary(sent=1000, errors=2)  # 0.2 % == 0.1 % + 0.1 %
    assert decide(stable, canary, GOLDEN_OK, Budgets())["decision"] == PROMOTE


@pytest.mark.parametrize(
    ("stable_p99", "canary_p99", "passes"),
    [
        (100.0, 120.0, True),  # exactly +20 %
        (100.0, 120.5, False),  # above +20 %
        (3.0, 5.0, True),  # +2 ms floor beats 20 % of 3 ms
        (3.0, 5.1, False),
        (0.4, 2.3, True),  # sub-millisecond jitter never flaps
    ],
)
def test_p99_may_grow_by_the_percentage_or_the_floor(stable_p99, canary_p99, passes):
    result = decide(
        summary(p99=stable_p99), summary(p99=canary_p99), GOLDEN_OK, Budgets()
    )
    p99 = next(c for c in result["checks"] if c["name"] == "p99_ms")
    assert p99["ok"] is passes
    assert result["decision"] == (PROMOTE if passes else ROLLBACK)


def test_allowance_is_stable_plus_the_larger_of_percentage_and_floor():
    budgets = Budgets(max_p99_increase_pct=50, p99_floor_ms=1)
    assert p99_allowance_ms(10.0, budgets) == 15.0
    assert p99_allowance_ms(1.0, budgets) == 2.0


def test_a_canary_without_successes_fails_p99_and_errors():
    result = decide(summary(), summary(sent=100, errors=100), GOLDEN_OK, Budgets())
    assert result["decision"] == ROLLBACK
    p99 = next(c for c in result["checks"] if c["name"] == "p99_ms")
    assert p99["value"] == math.inf and not p99["ok"]


def test_wrong_golden_outputs_roll_back_even_when_fast_and_error_free():
    result = decide(summary(), summary(), GOLDEN_BAD, Budgets())
    assert result["decision"] == ROLLBACK
    assert result["reasons"] == ["golden failed: differs"]


@pytest.mark.parametrize("invalid_arm", ["stable", "canary"])
def test_an_invalid_run_is_never_a_pass_and_changes_nothing(invalid_arm):
    bad = summary(verdict="INVALID", failed_gates=("dispatch_lag_p99_ms",))
    stable, canary = (bad, summary()) if invalid_arm == "stable" else (summary(), bad)
    result = decide(stable, canary, GOLDEN_OK, Budgets())
    assert result["decision"] == INVALID
    assert result["exit_code"] == EXIT_INVALID
    assert f"{invalid_arm} arm INVALID" in result["reasons"][0]
    assert "dispatch_lag_p99_ms" in result["reasons"][0]


def test_invalid_wins_over_a_failed_check():
    bad = summary(sent=1000, errors=900, verdict="INVALID", failed_gates=("backlog",))
    result = decide(summary(), bad, GOLDEN_BAD, Budgets())
    assert result["decision"] == INVALID


def test_a_stable_arm_without_successes_is_no_baseline():
    result = decide(summary(sent=100, errors=100), summary(), GOLDEN_OK, Budgets())
    assert result["decision"] == INVALID
    assert "no baseline" in result["reasons"][0]


def test_report_table_names_each_arm_and_check():
    decision = decide(summary(), summary(sent=250, p99=30.0), GOLDEN_OK, Budgets())
    report = {
        "model": "m",
        "versions": {"stable": 1, "canary": 2},
        "decision": decision,
        "action": "none: --dry-run (would rollback)",
        "budgets": {
            "max_error_rate_increase": 0.001,
            "max_p99_increase_pct": 20.0,
            "p99_floor_ms": 2.0,
        },
        "load": {
            "protocol": "rest",
            "target": "http://h",
            "rate": 40,
            "canary_weight": 0.2,
            "warmup_s": 1,
            "duration_s": 3,
        },
        "notes": [],
    }
    text = table(report)
    assert "| stable | 1 | 40 | 1000 | 1000 | 0 |" in text
    assert "| p99_ms | FAIL |" in text
    assert "**Decision: ROLLBACK** (exit code 1)" in render_markdown(report)
