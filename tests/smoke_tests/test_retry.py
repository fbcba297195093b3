"""Retry once on a connection error, never on a status: the smoke clients.

Loopback servers from tests/smoke_tests/faults.py drop or reset connections the
way a TF Serving pod does when it stops under kept-alive connections.
"""

from __future__ import annotations

import json
import socket
import threading
import time

import grpc
import pytest

from smoke_tests import checks, inputs
from tests.smoke_tests.faults import DropProxy, GrpcStub, HttpStub
from tests.smoke_tests.helpers import MODEL, write_sample_dir
from tfserving_contract.grpc_client import GrpcCallError, GrpcClient
from tfserving_contract.rest_client import RestClient, TransportError

STATUS_BODY = {
    "model_version_status": [
        {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK"}}
    ]
}
PREDICT = "/v1/models/m:predict"


@pytest.mark.parametrize("reset", [False, True], ids=["closed", "reset"])
def test_rest_post_dropped_without_answer_is_sent_again_on_a_new_connection(reset):
    with (
        HttpStub(200, {"predictions": [1]}) as stub,
        DropProxy(stub.port, drop_first=1, reset=reset) as proxy,
    ):
        client = RestClient(proxy.url, timeout=5)
        reply = client.post(PREDICT, {"instances": [1]})
    assert (reply.status, reply.body, reply.retries) == (200, {"predictions": [1]}, 1)
    assert client.retries == 1
    assert (proxy.connections, proxy.dropped) == (2, 1)
    assert stub.requests == [("POST", PREDICT)]


def test_rest_kept_alive_connection_reset_under_a_request_is_retried():
    with HttpStub(200, STATUS_BODY) as stub, DropProxy(stub.port) as proxy:
        client = RestClient(proxy.url, timeout=5)
        assert client.get("/v1/models/m").retries == 0
        proxy.break_next_request()
        reply = client.post(PREDICT, {"instances": [1]})
    assert (reply.status, reply.retries) == (200, 1)
    assert (proxy.connections, proxy.dropped) == (2, 1)
    assert stub.requests == [("GET", "/v1/models/m"), ("POST", PREDICT)]


@pytest.mark.parametrize("status", [500, 404, 503])
def test_rest_http_error_status_is_not_retried(status):
    with HttpStub(status, {"error": "no"}) as stub:
        client = RestClient(stub.url, timeout=5)
        reply = client.post(PREDICT, {"instances": [1]})
    assert (reply.status, reply.retries, client.retries) == (status, 0, 0)
    assert len(stub.requests) == 1


def test_rest_gives_up_after_one_retry():
    with HttpStub() as stub, DropProxy(stub.port, drop_first=5) as proxy:
        client = RestClient(proxy.url, timeout=5)
        with pytest.raises(TransportError, match="Max retries") as err:
            client.get("/v1/models/m")
    assert (err.value.retries, client.retries, proxy.dropped) == (1, 1, 2)
    assert stub.requests == []


def test_rest_answer_that_timed_out_is_not_sent_again():
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def hold() -> None:
        while True:
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=hold, daemon=True).start()
    client = RestClient(f"http://127.0.0.1:{listener.getsockname()[1]}", timeout=0.5)
    started = time.monotonic()
    with pytest.raises(TransportError, match="Read timed out") as err:
        client.post(PREDICT, {"instances": [1]})
    took = time.monotonic() - started
    listener.close()
    assert err.value.retries == 0 and len(accepted) == 1
    assert took < 1.5


def _status(client: GrpcClient) -> int:
    return client.get_model_status(MODEL).model_version_status[0].version


def test_grpc_unavailable_once_is_retried_by_the_service_config():
    with GrpcStub(fail=[grpc.StatusCode.UNAVAILABLE]) as stub:
        with GrpcClient(stub.target, timeout=5, max_message_mb=4) as client:
            assert _status(client) == 1
    assert stub.calls == [("GetModelStatus", 0), ("GetModelStatus", 1)]


def test_grpc_predict_unavailable_once_is_retried():
    from tfserving_contract import protos

    request = protos.message("tensorflow.serving.PredictRequest")()
    request.model_spec.name = MODEL
    with GrpcStub(fail=[grpc.StatusCode.UNAVAILABLE]) as stub:
        with GrpcClient(stub.target, timeout=5, max_message_mb=4) as client:
            assert client.predict(request).model_spec.version.value == 1
    assert stub.calls == [("Predict", 0), ("Predict", 1)]


@pytest.mark.parametrize(
    "code",
    [
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.INTERNAL,
    ],
)
def test_grpc_other_codes_are_not_retried(code):
    with GrpcStub(fail=[code]) as stub:
        with GrpcClient(stub.target, timeout=5, max_message_mb=4) as client:
            with pytest.raises(GrpcCallError) as err:
                _status(client)
    assert err.value.code == code.name
    assert stub.calls == [("GetModelStatus", 0)]


def test_grpc_unavailable_twice_is_final():
    unavailable = grpc.StatusCode.UNAVAILABLE
    with GrpcStub(fail=[unavailable, unavailable]) as stub:
        with GrpcClient(stub.target, timeout=5, max_message_mb=4) as client:
            with pytest.raises(GrpcCallError, match="UNAVAILABLE"):
                _status(client)
    assert stub.calls == [("GetModelStatus", 0), ("GetModelStatus", 1)]


def test_grpc_kept_alive_connection_reset_under_a_call_is_retried():
    """The rollout case: the connection the channel holds dies under a call."""
    with GrpcStub() as stub, DropProxy(stub.port) as proxy:
        with GrpcClient(proxy.target, timeout=5, max_message_mb=4) as client:
            assert _status(client) == 1
            before = client.counts()
            proxy.break_next_request()
            assert _status(client) == 1
            after = client.counts()
    assert (proxy.connections, proxy.dropped) == (2, 1)
    assert stub.calls[-1] == ("GetModelStatus", 1)
    from tfserving_contract.grpc_client import retry_note

    assert "connection failed or closed during this check" in retry_note(before, after)


def _smoke(tmp_path, rest: RestClient | None, grpc_client: GrpcClient | None):
    bundle = inputs.load(write_sample_dir(tmp_path / "base"))
    config = checks.SmokeConfig(model=MODEL, bundle=bundle, rest=rest, grpc=grpc_client)
    return {r.name: r for r in checks.SmokeRun(config).run()}


def test_smoke_reports_the_checks_that_needed_a_retry(tmp_path):
    with (
        HttpStub(200, STATUS_BODY) as stub,
        DropProxy(stub.port, drop_first=1) as proxy,
        GrpcStub(fail=[grpc.StatusCode.UNAVAILABLE]) as grpc_stub,
        GrpcClient(grpc_stub.target, timeout=5, max_message_mb=4) as grpc_client,
    ):
        results = _smoke(tmp_path, RestClient(proxy.url, timeout=5), grpc_client)
    rest, grpc_status = results["rest.status"], results["grpc.status"]
    assert rest.status == "pass", rest.detail
    assert rest.detail.endswith("(after 1 retry on connection error)")
    assert grpc_status.status == "pass", grpc_status.detail
    assert grpc_status.detail.endswith("(after 1 retry on UNAVAILABLE)")
    assert grpc_stub.calls[:2] == [("GetModelStatus", 0), ("GetModelStatus", 1)]
    quiet = [n for n, r in results.items() if "retr" in r.detail]
    assert quiet == ["rest.status", "grpc.status"]


def test_smoke_reports_a_grpc_connection_lost_under_a_check(tmp_path):
    with (
        GrpcStub() as grpc_stub,
        DropProxy(grpc_stub.port) as proxy,
        GrpcClient(proxy.target, timeout=5, max_message_mb=4) as grpc_client,
    ):
        bundle = inputs.load(write_sample_dir(tmp_path / "base"))
        run = checks.SmokeRun(
            checks.SmokeConfig(model=MODEL, bundle=bundle, rest=None, grpc=grpc_client)
        )
        first = run._record("grpc.status", "grpc", run._grpc_status)
        proxy.break_next_request()
        second = run._record("grpc.status", "grpc", run._grpc_status)
    assert first.status == second.status == "pass"
    assert "retr" not in first.detail
    assert "connection failed or closed during this check" in second.detail
    assert grpc_stub.calls[-1] == ("GetModelStatus", 1)


def test_smoke_http_500_fails_the_check_without_a_retry(tmp_path):
    with HttpStub(500, {"error": "boom"}) as stub:
        results = _smoke(tmp_path, RestClient(stub.url, timeout=5), None)
    assert results["rest.status"].status == "fail"
    assert "retr" not in results["rest.status"].detail
    assert stub.requests.count(("GET", f"/v1/models/{MODEL}")) == 1


@pytest.mark.standin
@pytest.mark.slow
def test_smoke_cli_passes_and_says_so_when_the_first_connection_was_dropped(
    standin_fashion_mnist, fashion_mnist_base_path, tmp_path
):
    from smoke_tests import cli

    out = tmp_path / "report.json"
    with DropProxy(standin_fashion_mnist.rest_port, drop_first=1) as proxy:
        code = cli.main(
            [
                "--base-path", str(fashion_mnist_base_path),
                "--rest-url", proxy.url,
                "--grpc-target", standin_fashion_mnist.grpc_target,
                "--timeout", "20",
                "--json", str(out),
            ]
        )  # fmt: skip
    report = {c["name"]: c for c in json.loads(out.read_text())["checks"]}
    failed = {n: c["detail"] for n, c in report.items() if c["status"] == "fail"}
    assert code == 0, failed
    assert report["rest.status"]["detail"].endswith(
        "(after 1 retry on connection error)"
    )
    assert [n for n, c in report.items() if "retr" in c["detail"]] == ["rest.status"]
    assert proxy.dropped == 1
