"""End-to-end load runs against the loopback servers (short, bounded)."""

import csv
import json
import shutil

import pytest
from hdrh.histogram import HdrHistogram

from loadtest import constants
from loadtest.cli import main
from loadtest.engine import RunConfig
from loadtest.loopback import free_port, predict_request_bytes, rest_request_bytes
from loadtest.recorder import merge_results, new_histogram
from loadtest.runner import run_results
from tests.loadtest.helpers import RELAXED_GATES, run_cli, write_sample_request

REPORT_FILES = (
    "summary.json",
    "latency.hgrm",
    "per_second.csv",
    "latency_over_time.png",
    "percentiles.png",
    "report.md",
)


def _check_reports(out, summary, duration):
    for name in REPORT_FILES:
        assert (out / name).stat().st_size > 0, name
    counts = summary["counts"]
    assert counts["ok"] == counts["sent"] == counts["scheduled"]
    assert summary["latency_ms"]["corrected"]["count"] == counts["ok"]
    assert counts["warmup_discarded"] > 0
    hist = HdrHistogram.decode(summary["histograms"]["corrected"])
    assert hist.get_total_count() == counts["ok"]
    rows = list(csv.DictReader((out / "per_second.csv").open()))
    assert duration <= len(rows) <= duration + 1
    assert sum(int(r["ok"]) for r in rows) == counts["ok"]
    assert "Value" in (out / "latency.hgrm").read_text().splitlines()[0]
    assert summary["verdict"] in ("PASS", "SLO_BREACH", "INVALID")
    assert (out / "percentiles.png").read_bytes()[:4] == b"\x89PNG"
    for key in ("p50", "p90", "p99", "p99.9", "max"):
        assert (
            summary["latency_ms"]["corrected"][key]
            >= summary["latency_ms"]["uncorrected"][key]
        )


def test_rest_open_loop_run_writes_every_report(loopback, tmp_path):
    code, summary = run_cli(
        tmp_path,
        "--protocol",
        "rest",
        "--target",
        loopback.rest_target,
        "--rate",
        "200",
        "--duration",
        "3",
        "--warmup",
        "0.5",
        *RELAXED_GATES,
    )
    assert code == constants.EXIT_PASS, summary["gates"]
    assert summary["counts"]["scheduled"] == 600
    assert summary["statuses"] == {"200": 600}
    assert summary["mode"].startswith("open-loop, constant")
    _check_reports(tmp_path, summary, 3)
    md = (tmp_path / "report.md").read_text()
    assert "| corrected |" in md and "**Verdict: PASS**" in md


def test_grpc_open_loop_run_with_poisson_arrivals(loopback, tmp_path):
    request = write_sample_request(tmp_path / "model")
    code, summary = run_cli(
        tmp_path / "out",
        "--protocol",
        "grpc",
        "--target",
        loopback.grpc_target,
        "--request",
        str(request),
        "--connections",
        "3",
        "--arrival",
        "poisson",
        "--rate",
        "200",
        "--duration",
        "3",
        "--warmup",
        "0.5",
        *RELAXED_GATES,
    )
    assert code == constants.EXIT_PASS, summary["gates"]
    assert summary["statuses"] == {"OK": summary["counts"]["ok"]}
    assert 450 < summary["counts"]["scheduled"] < 750
    assert summary["config"]["request_bytes"] > 3136
    _check_reports(tmp_path / "out", summary, 3)


def test_closed_loop_mode_is_labelled_and_has_no_rate_gates(loopback, tmp_path):
    code, summary = run_cli(
        tmp_path,
        "--protocol",
        "rest",
        "--target",
        loopback.rest_target,
        "--closed-loop",
        "--concurrency",
        "4",
        "--duration",
        "2",
        "--warmup",
        "0.5",
    )
    assert code == constants.EXIT_PASS
    assert summary["mode"].startswith("CLOSED-LOOP") and summary["closed_loop"]
    assert summary["gates"] == [] and summary["rate"]["target"] is None
    assert summary["counts"]["ok"] > 0
    assert "CLOSED-LOOP" in (tmp_path / "report.md").read_text()


def test_stalled_server_shows_corrected_p99_far_above_uncorrected(
    make_loopback, tmp_path
):
    """A 600 ms stall with 2 connections: wrk2's coordinated-omission case."""
    server = make_loopback(stall_after=300, stall_ms=600)
    code, summary = run_cli(
        tmp_path,
        "--protocol",
        "rest",
        "--target",
        server.rest_target,
        "--connections",
        "2",
        "--rate",
        "200",
        "--duration",
        "4",
        "--warmup",
        "0.5",
        *RELAXED_GATES,
    )
    lat = summary["latency_ms"]
    assert summary["counts"]["ok"] == 800
    assert lat["corrected"]["p99"] > 300
    assert lat["corrected"]["p99"] > 5 * lat["uncorrected"]["p99"]
    assert lat["lag"]["max"] > 300  # waited for a free connection during the stall
    assert code == constants.EXIT_PASS


def test_latency_slo_breach_exits_1(make_loopback, tmp_path):
    server = make_loopback(delay_ms=20)
    code, summary = run_cli(
        tmp_path,
        "--protocol",
        "rest",
        "--target",
        server.rest_target,
        "--rate",
        "100",
        "--duration",
        "2",
        "--warmup",
        "0.5",
        "--max-p99-ms",
        "5",
        *RELAXED_GATES,
    )
    assert code == constants.EXIT_SLO_BREACH
    assert summary["verdict"] == "SLO_BREACH"
    assert summary["latency_ms"]["corrected"]["p50"] >= 20
    assert [s["ok"] for s in summary["slo"]] == [False]


def test_error_rate_slo_with_http_500s(make_loopback, tmp_path):
    server = make_loopback(error_every=4, error_status=500)
    code, summary = run_cli(
        tmp_path,
        "--protocol",
        "rest",
        "--target",
        server.rest_target,
        "--rate",
        "100",
        "--duration",
        "2",
        "--warmup",
        "0.5",
        "--max-error-rate",
        "0.01",
        *RELAXED_GATES,
    )
    detail = (summary["gates"], summary["errors_by_kind"], summary["counts"])
    assert code == constants.EXIT_SLO_BREACH, detail
    assert summary["errors_by_kind"]["http_500"] == summary["counts"]["errors"], detail
    assert summary["error_rate"] == pytest.approx(0.25, abs=0.02)
    assert summary["counts"]["ok"] + summary["counts"]["errors"] == 200
    assert summary["latency_ms"]["all_attempts"]["count"] == 200


def test_grpc_errors_are_counted_by_status_code(make_loopback, tmp_path):
    server = make_loopback(error_every=5)
    request = write_sample_request(tmp_path / "model")
    code, summary = run_cli(
        tmp_path / "out",
        "--protocol",
        "grpc",
        "--target",
        server.grpc_target,
        "--request",
        str(request),
        "--rate",
        "100",
        "--duration",
        "2",
        "--warmup",
        "0.5",
        "--max-error-rate",
        "0.5",
        *RELAXED_GATES,
    )
    assert code == constants.EXIT_PASS
    # Every 5th request the server sees fails; warm-up and measured requests
    # can interleave at the server, hence +-1.
    assert list(summary["errors_by_kind"]) == ["grpc_UNAVAILABLE"]
    assert abs(summary["errors_by_kind"]["grpc_UNAVAILABLE"] - 40) <= 1
    # Without --retry-connection-errors nothing is retried, UNAVAILABLE included.
    assert summary["client_retry"] == constants.CLIENT_RETRY_OFF
    assert summary["counts"]["retried"] == 0 and summary["retried_by_kind"] == {}


def test_impossible_rate_is_an_invalid_run_not_a_pass(loopback, tmp_path):
    code, summary = run_cli(
        tmp_path,
        "--protocol",
        "rest",
        "--target",
        loopback.rest_target,
        "--rate",
        "200000",
        "--duration",
        "2",
        "--warmup",
        "0",
        "--max-p99-ms",
        "100000",
    )
    assert code == constants.EXIT_INVALID
    assert summary["verdict"] == "INVALID"
    failed = {g["name"] for g in summary["gates"] if not g["ok"]}
    assert "achieved_rate" in failed
    assert "INVALID" in (tmp_path / "report.md").read_text()


def test_metrics_url_shows_server_side_count(loopback, tmp_path):
    code, summary = run_cli(
        tmp_path,
        "--protocol",
        "rest",
        "--target",
        loopback.rest_target,
        "--rate",
        "50",
        "--duration",
        "1",
        "--warmup",
        "0.2",
        "--metrics-url",
        f"{loopback.rest_target}/monitoring/prometheus/metrics",
        *RELAXED_GATES,
    )
    server = summary["server_metrics"]
    assert server["request_count_delta"]["total"] == server["client_sent_incl_warmup"]


def test_missing_request_file_is_a_usage_error(loopback, tmp_path):
    code, summary = run_cli(
        tmp_path,
        "--protocol",
        "grpc",
        "--target",
        loopback.grpc_target,
        "--request",
        str(tmp_path / "nope.json"),
    )
    assert code == constants.EXIT_USAGE and summary is None


@pytest.mark.parametrize("protocol", ["rest", "grpc"])
def test_unreachable_target_is_a_usage_error(tmp_path, protocol):
    port = free_port()
    target = f"http://127.0.0.1:{port}" if protocol == "rest" else f"127.0.0.1:{port}"
    request = write_sample_request(tmp_path / "model")
    code, summary = run_cli(
        tmp_path / "out",
        "--protocol",
        protocol,
        "--target",
        target,
        "--request",
        str(request),
        "--timeout",
        "2",
    )
    assert code == constants.EXIT_USAGE and summary is None


def test_failing_first_request_is_a_usage_error(make_loopback, tmp_path):
    server = make_loopback(error_every=1, error_status=404)
    code, summary = run_cli(
        tmp_path,
        "--protocol",
        "rest",
        "--target",
        server.rest_target,
    )
    assert code == constants.EXIT_USAGE and summary is None


def test_bad_flag_value_is_a_usage_error():
    with pytest.raises(SystemExit) as exc:
        main(["run", "--rate", "-5"])
    assert exc.value.code == constants.EXIT_USAGE


@pytest.mark.parametrize("protocol", ["rest", "grpc"])
def test_multi_process_merge_equals_the_sum(loopback, protocol):
    cfg = RunConfig(
        protocol=protocol,
        target=loopback.rest_target if protocol == "rest" else loopback.grpc_target,
        model_name=loopback.model_name,
        rest_body=rest_request_bytes(),
        grpc_request=predict_request_bytes(),
        rate=200,
        duration_s=2,
        warmup_s=0.5,
        connections=4,
        processes=2,
        max_backlog=1000,
    )
    results = run_results(cfg)
    assert len(results) == 2
    merged = merge_results(results)
    assert merged.scheduled == 400
    assert merged.ok == sum(r["ok"] for r in results) == 400
    by_hand = new_histogram()
    for r in results:
        by_hand.add(HdrHistogram.decode(r["hists"]["corrected"]))
    assert merged.hists["corrected"].get_total_count() == 400
    assert by_hand.equals(merged.hists["corrected"])
    assert sum(s["ok"] for s in merged.seconds) == 400


class TestCompare:
    @pytest.fixture(scope="class")
    def baseline(self, loopback, tmp_path_factory):
        out = tmp_path_factory.mktemp("base")
        code, _ = run_cli(
            out,
            "--protocol",
            "rest",
            "--target",
            loopback.rest_target,
            "--rate",
            "100",
            "--duration",
            "1",
            "--warmup",
            "0.2",
            *RELAXED_GATES,
        )
        assert code == 0
        return out / "summary.json"

    def _candidate(self, baseline, tmp_path, scale=1.0, verdict=None):
        doc = json.loads(baseline.read_text())
        for key, value in doc["latency_ms"]["corrected"].items():
            if key != "count":
                doc["latency_ms"]["corrected"][key] = value * scale
        if verdict:
            doc["verdict"] = verdict
        path = tmp_path / "cand.json"
        path.write_text(json.dumps(doc))
        return path

    @pytest.mark.parametrize(
        ("scale", "budget", "expected"),
        [(1.0, "10", 0), (1.05, "10", 0), (1.5, "10", 1), (1.5, "60", 0)],
    )
    def test_exit_code_follows_the_budget(
        self, baseline, tmp_path, scale, budget, expected
    ):
        cand = self._candidate(baseline, tmp_path, scale)
        assert (
            main(["compare", str(baseline), str(cand), "--budget-pct", budget])
            == expected
        )

    def test_invalid_run_cannot_be_compared(self, baseline, tmp_path):
        cand = self._candidate(baseline, tmp_path, verdict="INVALID")
        assert main(["compare", str(baseline), str(cand)]) == constants.EXIT_INVALID

    def test_directory_arguments_and_missing_files(self, baseline, tmp_path):
        assert main(["compare", str(baseline.parent), str(baseline.parent)]) == 0
        shutil.copy(baseline, tmp_path / "x.json")
        assert main(["compare", str(tmp_path / "x.json"), str(tmp_path / "no")]) == 2
