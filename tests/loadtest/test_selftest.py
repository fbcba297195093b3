"""The selftest ramp against the loopback server (tiny, bounded)."""

import json

from loadtest.cli import main
from loadtest.report import Limits
from loadtest.selftest import find_ceiling


def test_ramp_ends_with_a_step_at_max_rate_and_reports_the_last_valid_step(loopback):
    seen = []
    best, steps = find_ceiling(
        "grpc",
        loopback,
        start_rate=100,
        factor=1.5,
        max_rate=160,
        step_s=1,
        warmup_s=0.2,
        limits=Limits(max_lag_p99_ms=1000),
        on_step=lambda proto, rate, summary, valid: seen.append((rate, valid)),
    )
    assert seen == [(100, True), (150, True), (160, True)]
    assert best == 160
    assert [s["counts"]["ok"] for s in steps] == [100, 150, 160]


def test_impossible_step_ends_the_ramp(loopback):
    best, steps = find_ceiling(
        "rest",
        loopback,
        start_rate=200_000,
        factor=2,
        max_rate=500_000,
        step_s=1,
        warmup_s=0,
        attempts=1,
    )
    assert best == 0
    assert [s["verdict"] for s in steps] == ["INVALID"]


def test_selftest_cli_writes_its_result(tmp_path):
    code = main(
        [
            "selftest",
            "--protocols",
            "rest",
            "--start-rate",
            "50",
            "--max-rate",
            "60",
            "--step-duration",
            "1",
            "--warmup",
            "0.2",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 0
    result = json.loads((tmp_path / "selftest.json").read_text())
    assert result["rest"]["client_processes"] == 1
    assert result["rest"]["steps"][0]["rate"] == 50
