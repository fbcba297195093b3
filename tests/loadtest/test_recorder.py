"""Recorder: the three intervals, per-second rows, and lossless merging."""

import pytest
from hdrh.histogram import HdrHistogram

from loadtest import recorder
from loadtest.recorder import Recorder, merge_results

MS = 1_000_000
SEC = 1_000_000_000


def _fill(rec: Recorder, start: int) -> None:
    # 10 requests per second for 3 s; each is dispatched 1 ms late, waits 2 ms
    # for a connection and takes 5 ms; every 10th fails with a 500.
    for i in range(30):
        sched = start + i * SEC // 10
        rec.on_scheduled(sched)
        rec.on_sent(sched + 3 * MS)
        error = "http_500" if i % 10 == 9 else None
        rec.record(
            sched,
            sched + MS,
            sched + 3 * MS,
            sched + 8 * MS,
            "500" if error else "200",
            error,
        )


def _result(rec: Recorder) -> dict:
    result = rec.to_result()
    result.update(max_backlog=0, aborted=False, abort_reason="", cpu_s=0.0, wall_s=1.0)
    return result


def test_intervals_are_charged_from_the_right_timestamps():
    start = 10 * SEC
    rec = Recorder(start, 3)
    _fill(rec, start)
    merged = merge_results([_result(rec)])
    h = merged.hists
    assert h["corrected"].get_total_count() == merged.ok == 27
    assert h["all_attempts"].get_total_count() == 30
    # 3 significant digits: values come back as their bucket's highest equivalent.
    assert h["corrected"].get_value_at_percentile(50) == pytest.approx(8000, rel=1e-3)
    assert h["uncorrected"].get_value_at_percentile(50) == pytest.approx(5000, rel=1e-3)
    assert h["lag"].get_max_value() == pytest.approx(3000, rel=1e-3)
    assert h["dispatch_lag"].get_max_value() == pytest.approx(1000, rel=1e-3)
    assert [(s["ok"], s["errors"], s["sent"]) for s in merged.seconds] == [
        (9, 1, 10)
    ] * 3
    assert merged.errors == {"http_500": 3} and merged.statuses == {"200": 27, "500": 3}


def test_flushing_early_gives_the_same_histograms(monkeypatch):
    start = 5 * SEC
    whole = Recorder(start, 3)
    _fill(whole, start)
    monkeypatch.setattr(recorder, "MAX_RAW_ROWS", 7)
    chunked = Recorder(start, 3)
    _fill(chunked, start)
    a, b = _result(whole), _result(chunked)
    for name in recorder.HIST_NAMES:
        assert HdrHistogram.decode(a["hists"][name]).equals(
            HdrHistogram.decode(b["hists"][name])
        )
    assert a["seconds"] == b["seconds"]


def test_merge_adds_counts_and_histograms():
    start = 0
    recs = [Recorder(start, 3) for _ in range(3)]
    for rec in recs:
        _fill(rec, start)
    merged = merge_results([_result(r) for r in recs])
    assert merged.ok == 81 and merged.failed == 9 and merged.sent == 90
    assert merged.hists["corrected"].get_total_count() == 81
    assert merged.seconds[0]["hist"].get_total_count() == 27


def test_retried_requests_are_counted_by_first_error_and_merged():
    recs = [Recorder(0, 1) for _ in range(2)]
    for rec in recs:
        rec.record(0, 0, 0, 5 * MS, "200", None, "connection:ServerDisconnectedError")
        rec.record(0, 0, 0, 9 * MS, "connection", "connection:ClientOSError", "grpc_X")
        rec.record(0, 0, 0, MS, "200", None)
    merged = merge_results([_result(r) for r in recs])
    assert (merged.ok, merged.failed) == (4, 2)
    assert (merged.retried, merged.retried_ok) == (4, 2)
    assert merged.retried_by_kind == {
        "connection:ServerDisconnectedError": 2,
        "grpc_X": 2,
    }
    assert merged.errors == {"connection:ClientOSError": 2}
    # A retried request's latency is what the caller saw: one sample each.
    assert merged.hists["all_attempts"].get_total_count() == 6
