"""Unit tests for the bench helpers (no wrk/ghz run here; `make bench` does that)."""

import json

import pytest

from loadtest_bench import compare_row, parse_wrk, write_protoset, write_wrk_script

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
