"""tfs-load --engine go: the Go engine's rows become the Python engine's reports.

The conversion is checked on synthetic rows; the binary (built from loadengine/
with the machine's Go, as `make tools` does) against loopback servers: same
counts, error kinds and gates as the Python engine's runs of the same load.
"""

import numpy as np
import pytest

from loadtest import constants, go_engine
from loadtest.engine import RunConfig
from tests.loadtest.helpers import RELAXED_GATES, run_cli, write_sample_request

LOAD = ("--rate", "100", "--duration", "2", "--warmup", "0.5")


def config(**overrides) -> RunConfig:
    fields = dict(
        protocol="rest",
        target="http://127.0.0.1:1",
        model_name="m",
        rest_body=b"{}",
        grpc_request=b"",
        rate=10.0,
        duration_s=2.0,
        warmup_s=1.0,
        on_time_allowance_s=0.002,
        engine="go",
    )
    return RunConfig(**(fields | overrides))


def rows(*items) -> np.ndarray:
    return np.array(list(items), dtype=go_engine.ROW)


def test_rows_are_recorded_like_the_python_engine():
    ms = 1_000_000
    outcomes = [{"status": "200", "error": ""}, {"status": "500", "error": "http_500"}]
    footer = dict(
        outcomes=outcomes,
        max_backlog=3,
        aborted=False,
        abort_reason="",
        cpu_s=0.5,
        wall_s=3.0,
    )
    result = go_engine.worker_result(
        config(),
        rows(
            (500 * ms, 500 * ms, 501 * ms, 510 * ms, 0),  # warm-up
            (1000 * ms, 1001 * ms, 1002 * ms, 1012 * ms, 0),
            (1100 * ms, 1100 * ms, 1100 * ms, 1150 * ms, 1),
            (2999 * ms, 3000 * ms, 3003 * ms, 3010 * ms, 0),  # sent after 3 s + 2 ms
            (2500 * ms, -1, -1, -1, 0),  # scheduled, never sent
        ),
        footer,
    )
    assert result["warmup_requests"] == 1
    assert (result["scheduled"], result["sent"], result["sent_late"]) == (4, 3, 1)
    assert (result["ok"], result["failed"]) == (2, 1)
    assert result["statuses"] == {"200": 2, "500": 1}
    assert result["errors"] == {"http_500": 1}
    assert (result["max_backlog"], result["cpu_s"], result["wall_s"]) == (3, 0.5, 3.0)


def test_a_missing_binary_is_a_usage_error_that_says_how_to_build_it(
    monkeypatch, tmp_path, capsys
):
    monkeypatch.setattr(go_engine, "_REPO_BINARY", tmp_path / "absent")
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv(go_engine.BINARY_ENV, raising=False)
    code, _ = run_cli(tmp_path, "--engine", "go", "--target", "http://127.0.0.1:1")
    assert code == constants.EXIT_USAGE
    assert "make tools" in capsys.readouterr().err


@pytest.mark.parametrize(
    "flags, problem",
    [
        (("--processes", "2"), "drop --processes"),
        (("--retry-connection-errors",), "needs --engine python"),
        (("--in-cluster", "default"), "host only"),
    ],
)
def test_what_the_go_engine_cannot_do_is_refused(tmp_path, capsys, flags, problem):
    code, _ = run_cli(tmp_path, "--engine", "go", *flags)
    assert code == constants.EXIT_USAGE
    assert problem in capsys.readouterr().err


def run_open_loop(out, engine, server, protocol, *extra):
    """``LOAD`` open loop from ``engine`` to ``server`` over ``protocol``."""
    target = server.rest_target if protocol == "rest" else server.grpc_target
    request = write_sample_request(out / "model")
    return run_cli(
        out / "run",
        "--engine",
        engine,
        "--protocol",
        protocol,
        "--target",
        target,
        "--request",
        str(request),
        *LOAD,
        *extra,
        *RELAXED_GATES,
    )


@pytest.mark.parametrize("protocol", ["rest", "grpc"])
def test_go_engine_run_counts_every_request(go, loopback, tmp_path, protocol):
    code, summary = run_open_loop(tmp_path, "go", loopback, protocol)
    assert code == constants.EXIT_PASS, summary["gates"]
    assert summary["generator"]["engine"] == "go"
    assert summary["counts"]["scheduled"] == summary["counts"]["ok"] == 200
    assert summary["counts"]["warmup_discarded"] == 50
    assert summary["latency_ms"]["corrected"]["count"] == 200


def test_go_engine_closed_loop(go, loopback, tmp_path):
    code, summary = run_cli(
        tmp_path,
        "--engine",
        "go",
        "--target",
        loopback.rest_target,
        "--closed-loop",
        "--concurrency",
        "4",
        "--duration",
        "1",
        "--warmup",
        "0.5",
    )
    assert code == constants.EXIT_PASS
    assert summary["closed_loop"] is True
    assert summary["counts"]["ok"] == summary["counts"]["sent"] > 100


@pytest.mark.parametrize(
    "protocol, faults, kind",
    [
        ("rest", dict(error_every=4, error_status=500), "http_500"),
        ("grpc", dict(error_every=5), "grpc_UNAVAILABLE"),
    ],
)
def test_go_engine_names_errors_like_the_python_engine(
    go, make_loopback, tmp_path, protocol, faults, kind
):
    kinds = {}
    for engine in ("python", "go"):
        server = make_loopback(**faults)
        _, summary = run_open_loop(
            tmp_path / engine, engine, server, protocol, "--max-error-rate", "0.5"
        )
        kinds[engine] = summary["errors_by_kind"]
    assert list(kinds["go"]) == list(kinds["python"]) == [kind]
    assert abs(kinds["go"][kind] - kinds["python"][kind]) <= 2, kinds
