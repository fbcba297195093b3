"""tfs-rollout's status reads: one retry on a connection error, none on a status.

Loopback servers from tests/smoke_tests/faults.py.
"""

from __future__ import annotations

import pytest

from model_rollout import server
from model_rollout.plan import RolloutError
from tests.smoke_tests.faults import DropProxy, HttpStub

STATUS_BODY = {
    "model_version_status": [
        {"version": "2", "state": "AVAILABLE", "status": {"error_code": "OK"}}
    ]
}


@pytest.mark.parametrize("reset", [False, True], ids=["closed", "reset"])
def test_status_read_dropped_without_answer_is_sent_again(reset):
    with (
        HttpStub(200, STATUS_BODY) as stub,
        DropProxy(stub.port, drop_first=1, reset=reset) as proxy,
    ):
        assert server.version_states(proxy.url, "m") == {2: "AVAILABLE"}
    assert (proxy.connections, proxy.dropped) == (2, 1)
    assert stub.requests == [("GET", "/v1/models/m")]


def test_label_read_dropped_without_answer_is_sent_again():
    body = {"model_spec": {"name": "m", "version": "2"}}
    with HttpStub(200, body) as stub, DropProxy(stub.port, drop_first=1) as proxy:
        assert server.label_version(proxy.url, "m", "canary") == 2
    assert stub.requests == [("GET", "/v1/models/m/labels/canary/metadata")]


@pytest.mark.parametrize("status", [500, 404])
def test_http_error_status_is_not_retried(status):
    with HttpStub(status, {"error": "no"}) as stub:
        with pytest.raises(RolloutError, match=f"HTTP {status}"):
            server.version_states(stub.url, "m")
        assert server.label_version(stub.url, "m", "canary") is None
    assert stub.requests == [
        ("GET", "/v1/models/m"),
        ("GET", "/v1/models/m/labels/canary/metadata"),
    ]


def test_a_server_that_keeps_dropping_is_reported_after_one_retry():
    with HttpStub() as stub, DropProxy(stub.port, drop_first=5) as proxy:
        with pytest.raises(RolloutError, match="cannot reach TF Serving"):
            server.version_states(proxy.url, "m")
    assert proxy.dropped == 2
    assert stub.requests == []
