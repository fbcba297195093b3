"""Unit tests for the table and JSON report."""

import io
import json

from rich.console import Console

from smoke_tests import hints, report
from smoke_tests.checks import CheckResult


def _results():
    failed = CheckResult(
        "rest.status", "fail", "HTTP 404: Servable not found for request"
    )
    failed.hints = hints.find(failed.detail)
    return [
        CheckResult("grpc.status", "pass", "AVAILABLE [1]", seconds=0.01),
        failed,
        CheckResult("versions.failed", "fail", "v3 UNKNOWN: boom", gating=False),
        CheckResult("rest.metrics", "skip", "no --metrics-path given"),
        CheckResult("export.versions", "warn", "2/... names version 1", gating=False),
    ]


def test_summary_counts_gating_and_non_gating_failures():
    assert report.summary(_results()) == {
        "passed": 1,
        "failed": 1,
        "non_gating": 1,
        "skipped": 1,
        "warnings": 1,
    }


def test_json_report_round_trips_with_hints(tmp_path):
    path = tmp_path / "out" / "smoke.json"
    report.write_json(path, report.to_dict(_results(), {"model": "m"}, exit_code=1))
    data = json.loads(path.read_text())
    assert data["exit_code"] == 1
    assert data["target"] == {"model": "m"}
    by_name = {c["name"]: c for c in data["checks"]}
    assert by_name["rest.status"]["status"] == "fail"
    assert by_name["rest.status"]["hints"][0]["key"] == "servable-not-found"
    assert by_name["versions.failed"]["gating"] is False
    assert [c["name"] for c in data["checks"]] == [r.name for r in _results()]


def test_table_shows_every_check_and_a_hint_line_per_known_error():
    buffer = io.StringIO()
    report.print_table(_results(), Console(file=buffer, width=200, color_system=None))
    text = buffer.getvalue()
    for name in ("grpc.status", "rest.status", "versions.failed", "rest.metrics"):
        assert name in text
    assert "FAIL (non-gating)" in text
    assert "WARN" in text
    assert "hint servable-not-found (rest.status)" in text
    assert "FAILED: 1 passed, 1 failed, 1 skipped, 1 non-gating, 1 warning(s)" in text


def test_warnings_alone_do_not_fail_the_verdict():
    results = [
        CheckResult("rest.status", "pass", "v1:AVAILABLE"),
        CheckResult("export.versions", "warn", "names version 1", gating=False),
    ]
    buffer = io.StringIO()
    report.print_table(results, Console(file=buffer, width=200, color_system=None))
    assert "PASSED: 1 passed, 0 failed, 0 skipped, 1 warning(s)" in buffer.getvalue()
    assert not any(r.failed for r in results)


def test_a_hint_shared_by_several_checks_is_printed_once():
    results = []
    for name in ("rest.status", "grpc.status"):
        result = CheckResult(name, "fail", "Servable not found for request")
        result.hints = hints.find(result.detail)
        results.append(result)
    buffer = io.StringIO()
    report.print_table(results, Console(file=buffer, width=200, color_system=None))
    text = buffer.getvalue()
    assert text.count("hint servable-not-found") == 1
    assert "(rest.status, grpc.status)" in text
