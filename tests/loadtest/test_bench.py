"""Unit tests for the bench helpers (no wrk/ghz run here; `make bench` does that)."""

import http.client
import json
import subprocess
import time

import grpc
import pytest

import loadtest_bench
from loadtest.loopback import (
    Faults,
    periodic_stall_wait_s,
    predict_request_bytes,
    rest_request_bytes,
)
from loadtest_bench import (
    accuracy_ok,
    compare_row,
    median_pair,
    parse_wrk,
    stall_connections,
    true_percentiles,
    write_protoset,
    write_wrk_script,
)

WRK_OUTPUT = """Running 5s test @ http://127.0.0.1:1/v1/models/m:predict
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   600.00us  200.00us   5.00ms   90.00%
  Latency Distribution
     50%  536.00us
     75%  700.00us
     90%    1.10ms
     99%    1.91ms
  148000 requests in 5.00s, 20.00MB read
  Non-2xx or 3xx responses: 12
Requests/sec:  29699.10
Transfer/sec:      4.00MB
"""


def test_parse_wrk_reads_rate_percentiles_and_errors():
    parsed = parse_wrk(WRK_OUTPUT)
    assert parsed["rate"] == pytest.approx(29699.10)
    assert parsed["p50"] == pytest.approx(0.536)
    assert parsed["p99"] == pytest.approx(1.91)
    assert parsed["errors"] == 12


def test_wrk_script_escapes_the_json_body(tmp_path):
    body = json.dumps({"instances": [[1.0]], "s": 'a"b'}).encode()
    text = write_wrk_script(tmp_path / "x.lua", body, delay_ms=7).read_text()
    assert 'wrk.method = "POST"' in text and "return 7" in text
    assert '\\"instances\\"' in text


def test_protoset_holds_prediction_service_and_its_dependencies(tmp_path):
    from google.protobuf import descriptor_pb2

    fds = descriptor_pb2.FileDescriptorSet.FromString(
        write_protoset(tmp_path / "p.protoset").read_bytes()
    )
    names = [f.name for f in fds.file]
    assert "tensorflow/core/framework/tensor.proto" in names
    for index, proto in enumerate(fds.file):  # dependencies come first
        assert set(proto.dependency) <= set(names[:index])
    service = fds.file[names.index("tensorflow_serving/apis/prediction_service.proto")]
    assert "Predict" in [m.name for m in service.service[0].method]


def test_compare_row_reports_ratio_and_percent_difference():
    row = compare_row(
        "case",
        "what",
        {"rate": 900, "p50": 1.1, "p99": 4.0},
        {"rate": 1000, "p50": 1.0, "p99": 5.0},
    )
    assert row["rate_ratio"] == pytest.approx(0.9)
    assert row["p50_diff_pct"] == pytest.approx(10.0)
    assert row["p99_diff_pct"] == pytest.approx(-20.0)


def test_median_pair_is_the_middle_paired_ratio_not_a_ratio_of_medians():
    pairs = [{"rate_ratio": r} for r in (0.9, 0.6, 0.8)]
    assert median_pair(pairs)["rate_ratio"] == 0.8
    assert median_pair(pairs[:2])["rate_ratio"] == 0.6  # of two, the lower


def test_true_percentiles_of_a_fixed_delay_are_the_delay():
    assert true_percentiles(10.0) == {"p50": 10.0, "p99": 10.0}


def test_true_percentiles_with_periodic_stalls():
    # S=100 every T=1000: 10% of arrivals wait, uniformly 0..100 ms.
    truth = true_percentiles(10.0, 100.0, 1000.0, (0.5, 0.9, 0.95, 0.99, 1.0))
    assert truth["p50"] == 10.0 and truth["p90"] == 10.0
    assert truth["p95"] == pytest.approx(60.0)
    assert truth["p99"] == pytest.approx(100.0)
    assert truth["p100"] == pytest.approx(110.0)
    # S=500 every T=1000: half the arrivals wait; p99 waits 98% of S.
    half = true_percentiles(0.0, 500.0, 1000.0)
    assert half["p50"] == 0.0 and half["p99"] == pytest.approx(490.0)


def test_accuracy_is_five_percent_or_a_fifth_of_a_millisecond():
    assert accuracy_ok(104.9, 100.0) and not accuracy_ok(105.2, 100.0)
    assert accuracy_ok(95.1, 100.0) and not accuracy_ok(94.8, 100.0)
    assert accuracy_ok(2.19, 2.0) and not accuracy_ok(2.21, 2.0)  # 0.2 ms floor


def test_stall_pool_holds_every_request_a_stall_keeps_in_flight():
    # 500 req/s x (100 + 10) ms = 55 in flight at a window's end.
    assert stall_connections(500, 10, 100) >= 55 * 1.5
    assert stall_connections(500, 10, 0) >= 5


def test_run_ours_passes_the_engine_only_when_given(tmp_path, monkeypatch):
    calls = []

    def fake_run(cmd, **kwargs):
        calls.append(cmd)
        (tmp_path / "summary.json").write_text('{"verdict": "PASS"}')
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(loadtest_bench.subprocess, "run", fake_run)
    assert loadtest_bench.run_ours(["--rate", "5"], tmp_path) == {"verdict": "PASS"}
    loadtest_bench.run_ours(["--rate", "5"], tmp_path, engine="go")
    assert "--engine" not in calls[0]
    assert calls[1][-2:] == ["--engine", "go"] and "--rate" in calls[1]


def test_periodic_stall_wait_counts_down_to_the_window_end():
    assert periodic_stall_wait_s(0.0, 1.0, 0.1) == pytest.approx(0.1)
    assert periodic_stall_wait_s(2.03, 1.0, 0.1) == pytest.approx(0.07)
    assert periodic_stall_wait_s(2.1, 1.0, 0.1) == 0.0
    assert periodic_stall_wait_s(2.99, 1.0, 0.1) == 0.0
    assert periodic_stall_wait_s(5.0, 0.0, 0.1) == 0.0
    with pytest.raises(ValueError):
        Faults(0, 0, 1000, 0, stall_period_ms=1000)


@pytest.fixture(params=["python", "go"])
def stalling_server(request, make_loopback):
    """Either loopback server with D=20 ms and S=400 ms every T=1 s."""
    faults = dict(delay_ms=20, stall_ms=400, stall_period_ms=1000)
    if request.param == "python":
        yield make_loopback(**faults)
        return
    request.getfixturevalue("go")
    with loadtest_bench.GoLoopback(**faults) as server:
        yield server


def test_loopback_periodic_stall_holds_requests_until_the_window_ends(stalling_server):
    """In a window a request is answered at the window's end + D, else after D."""
    server = stalling_server
    port = int(server.rest_target.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    body = rest_request_bytes()
    channel = grpc.insecure_channel(server.grpc_target)
    grpc_predict = channel.unary_unary("/tensorflow.serving.PredictionService/Predict")
    grpc_predict(predict_request_bytes(), timeout=5)  # connected before timing

    def rest_predict() -> float:
        start = time.monotonic()
        conn.request("POST", "/v1/models/loopback:predict", body)
        assert conn.getresponse().read().startswith(b'{"predictions"')
        return time.monotonic() - start

    # Find a window's end: the first request held longer than D + 100 ms.
    deadline = time.monotonic() + 2.5
    while rest_predict() < 0.12:
        assert time.monotonic() < deadline, "no stall within 2.5 s"
    window_end = time.monotonic() - 0.02
    # Mid next window ([end + 0.6, end + 1.0)): waits 0.2 s, then D.
    time.sleep(window_end + 0.8 - time.monotonic())
    held = rest_predict()
    assert 0.2 < held < 0.3
    assert abs(time.monotonic() - (window_end + 1.02)) < 0.05
    # Between windows: only D.
    time.sleep(window_end + 1.3 - time.monotonic())
    assert 0.02 <= rest_predict() < 0.1
    # gRPC shares the windows: mid the one after, 0.2 s + D again.
    time.sleep(window_end + 1.8 - time.monotonic())
    start = time.monotonic()
    grpc_predict(predict_request_bytes(), timeout=5)
    assert 0.2 < time.monotonic() - start < 0.3
    channel.close()
    conn.close()
