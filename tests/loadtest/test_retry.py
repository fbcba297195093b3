"""--retry-connection-errors: one immediate retry, counted and reported, never hidden.

Full runs go against loopback servers that drop connections or return errors;
the client tests use a raw asyncio socket server that counts the connections
it accepts, so "retried exactly once, on a fresh connection" is observed.
"""

import asyncio
import socket
import struct

import pytest
from hdrh.histogram import HdrHistogram

from loadtest import constants
from loadtest.clients import RestClient
from loadtest.compare import compare
from loadtest.loopback import free_port
from tests.loadtest.helpers import RELAXED_GATES, run_cli, write_sample_request

RETRY = "--retry-connection-errors"
DISCONNECTED = "connection:ServerDisconnectedError"
SHORT_RUN = ("--rate", "100", "--duration", "2", "--warmup", "0.5", *RELAXED_GATES)


def _rest_run(out, server, *args):
    return run_cli(out, "--protocol", "rest", "--target", server.rest_target, *args)


def _grpc_run(out, server, *args):
    request = write_sample_request(out / "model")
    return run_cli(
        out,
        "--protocol",
        "grpc",
        "--target",
        server.grpc_target,
        "--request",
        str(request),
        *args,
    )


def _count_at_or_above(encoded: str, value_us: int) -> int:
    hist = HdrHistogram.decode(encoded)
    return sum(
        item.count_at_value_iterated_to
        for item in hist.get_recorded_iterator()
        if item.value_iterated_to >= value_us
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())


def test_dropped_connections_are_errors_without_the_flag(make_loopback, tmp_path):
    server = make_loopback(drop_every=5)
    code, summary = _rest_run(tmp_path, server, *SHORT_RUN, "--max-error-rate", "0")
    counts = summary["counts"]
    assert code == constants.EXIT_SLO_BREACH, summary["slo"]
    assert summary["client_retry"] == constants.CLIENT_RETRY_OFF
    assert counts["sent"] == counts["ok"] + counts["errors"] == 200
    assert 25 <= counts["errors"] <= 45, counts
    assert summary["errors_by_kind"] == {DISCONNECTED: counts["errors"]}
    assert counts["retried"] == counts["retried_ok"] == 0
    assert summary["retried_by_kind"] == {}
    assert "client retry: off" in (tmp_path / "report.md").read_text()


def test_dropped_connections_are_retried_once_and_reported(
    make_loopback, tmp_path, capsys
):
    """Every retried request waits out the 20 ms delay twice, so its latency
    from the scheduled send is at least 40 ms: both attempts are charged."""
    server = make_loopback(drop_every=5, delay_ms=20)
    code, summary = _rest_run(
        tmp_path, server, *SHORT_RUN, RETRY, "--max-error-rate", "0"
    )
    counts = summary["counts"]
    assert code == constants.EXIT_PASS, (summary["gates"], summary["slo"])
    assert summary["client_retry"] == constants.CLIENT_RETRY_ONCE
    assert counts["sent"] == counts["ok"] == 200 and counts["errors"] == 0
    assert 25 <= counts["retried"] <= 45, counts
    assert counts["retried_ok"] == counts["retried"]
    assert summary["retried_by_kind"] == {DISCONNECTED: counts["retried"]}
    assert summary["errors_by_kind"] == {} and summary["error_rate"] == 0.0
    for name in ("corrected", "uncorrected"):
        slow = _count_at_or_above(summary["histograms"][name], 40_000)
        assert slow >= counts["retried"], (name, slow)
    line = (
        f"retried: {counts['retried']} ({counts['retried']} ok after retry; "
        f"first errors: {DISCONNECTED} x{counts['retried']})"
    )
    assert line in _one_line(capsys.readouterr().out)
    assert line in (tmp_path / "report.md").read_text()


def test_closed_loop_retries_are_counted_too(make_loopback, tmp_path):
    server = make_loopback(drop_every=4)
    code, summary = _rest_run(
        tmp_path,
        server,
        "--closed-loop",
        "--concurrency",
        "2",
        "--duration",
        "1",
        "--warmup",
        "0.2",
        RETRY,
    )
    counts = summary["counts"]
    assert code == constants.EXIT_PASS
    assert counts["errors"] == 0 and counts["ok"] == counts["sent"] > 0
    assert counts["retried"] == counts["retried_ok"] > 0
    assert summary["retried_by_kind"] == {DISCONNECTED: counts["retried"]}


def test_grpc_unavailable_is_retried_once(make_loopback, tmp_path):
    # Every 10th RPC at the server fails. A retry takes the next count (unless
    # nine other RPCs overtake it) and succeeds; as retries are counted too,
    # one request in 9 is retried.
    server = make_loopback(error_every=10)
    code, summary = _grpc_run(tmp_path, server, *SHORT_RUN, RETRY)
    counts = summary["counts"]
    assert code == constants.EXIT_PASS, summary["gates"]
    assert counts["sent"] == counts["ok"] == 200 and counts["errors"] == 0
    assert abs(counts["retried"] - 200 / 9) <= 2, counts
    assert counts["retried_ok"] == counts["retried"]
    assert summary["retried_by_kind"] == {"grpc_UNAVAILABLE": counts["retried"]}
    assert summary["statuses"] == {"OK": 200}


@pytest.mark.parametrize(
    ("protocol", "faults", "kind"),
    [
        ("rest", {"error_status": 500}, "http_500"),
        ("rest", {"error_status": 404}, "http_404"),
        ("grpc", {"grpc_error": "INVALID_ARGUMENT"}, "grpc_INVALID_ARGUMENT"),
    ],
)
def test_error_responses_are_never_retried(
    make_loopback, tmp_path, protocol, faults, kind
):
    server = make_loopback(error_every=4, **faults)
    run = _rest_run if protocol == "rest" else _grpc_run
    code, summary = run(
        tmp_path,
        server,
        "--rate",
        "100",
        "--duration",
        "1",
        "--warmup",
        "0.3",
        *RELAXED_GATES,
        RETRY,
    )
    counts = summary["counts"]
    assert code == constants.EXIT_PASS
    assert counts["ok"] + counts["errors"] == 100
    assert abs(counts["errors"] - 25) <= 1, counts
    assert summary["errors_by_kind"] == {kind: counts["errors"]}
    assert counts["retried"] == counts["retried_ok"] == 0
    assert summary["retried_by_kind"] == {}
    assert (
        "retried: 0 (0 ok after retry; first errors: none)"
        in (tmp_path / "report.md").read_text()
    )


async def _call_raw_server(close: str, retry: bool) -> tuple[tuple, int]:
    """One RestClient.call() against a server that misbehaves as ``close`` says.

    Returns:
        (the call's outcome, how many connections the server accepted).
    """
    accepted = 0

    async def on_connect(reader, writer):
        nonlocal accepted
        accepted += 1
        await reader.readuntil(b"\r\n\r\n")
        await reader.readexactly(2)
        if close == "hang":
            await asyncio.sleep(2)
        if close == "partial":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{")
            await writer.drain()
        if close == "reset":
            sock = writer.get_extra_info("socket")
            sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
        writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1/models/m:predict"
    client = RestClient(url, b"{}", 4, 0.5, retry)
    await client.start()
    try:
        return await client.call(), accepted
    finally:
        await client.close()
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize(
    ("close", "kind", "retryable"),
    [
        ("disconnect", DISCONNECTED, True),
        ("reset", "connection:ClientOSError", True),
        ("partial", "client:ClientPayloadError", False),
        ("hang", "timeout", False),
    ],
)
@pytest.mark.parametrize("retry", [False, True])
def test_rest_client_retries_once_on_a_fresh_connection_only_before_a_response(
    close, kind, retryable, retry
):
    (status, error, first_error), accepted = asyncio.run(_call_raw_server(close, retry))
    assert error == kind
    retried = retry and retryable
    assert first_error == (kind if retried else None)
    assert accepted == (2 if retried else 1)


@pytest.mark.parametrize("retry", [False, True])
def test_refused_connection_is_retried_once_then_still_an_error(retry):
    url = f"http://127.0.0.1:{free_port()}/v1/models/m:predict"

    async def call():
        client = RestClient(url, b"{}", 1, 2.0, retry)
        await client.start()
        try:
            return await client.call()
        finally:
            await client.close()

    kind = "connection:ClientConnectorError"
    assert asyncio.run(call()) == ("connection", kind, kind if retry else None)


def test_compare_shows_retried_requests_as_information():
    def summary(retried: int) -> dict:
        return {
            "latency_ms": {
                "corrected": dict.fromkeys(
                    ("p50", "p90", "p95", "p99", "p99.9", "max"), 1.0
                )
            },
            "error_rate": 0.0,
            "rate": {"achieved_ok": 100.0},
            "counts": {"retried": retried},
            "verdict": "PASS",
        }

    rows, code = compare(summary(0), summary(12), 10)
    row = next(r for r in rows if r["metric"] == "retried requests")
    assert (row["baseline"], row["candidate"], row["judged"]) == (0, 12, False)
    assert code == constants.EXIT_PASS
