"""The gateway process retries a TF Serving call once on UNAVAILABLE, never else.

Its gRPC client (tfserving_contract.grpc_client) carries the retry service config; these
tests run the real gateway process against loopback servers from
tests/smoke_tests/faults.py and the TF Serving STAND-IN (not TF Serving).
"""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import grpc
import pytest
import requests

from tests.gateway.conftest import start_gateway
from tests.processes import stop
from tests.smoke_tests.faults import DropProxy, GrpcStub

pytestmark = pytest.mark.standin


def test_predict_survives_tf_serving_resetting_the_kept_alive_connection(
    standin_fashion_mnist, fashion_mnist_base_path, tmp_path, sample_png
):
    with DropProxy(standin_fashion_mnist.grpc_port) as proxy:
        behind = dataclasses.replace(standin_fashion_mnist, grpc_port=proxy.port)
        proc, url = start_gateway(behind, fashion_mnist_base_path, tmp_path / "gw.log")
        try:
            first = requests.post(
                f"{url}/predict", files={"file": sample_png}, timeout=30
            )
            proxy.break_next_request()
            second = requests.post(
                f"{url}/predict", files={"file": sample_png}, timeout=30
            )
        finally:
            stop(proc)
    assert first.status_code == 200, first.text
    assert second.status_code == 200, second.text
    assert second.json()["predictions"] == first.json()["predictions"]
    assert (proxy.connections, proxy.dropped) == (2, 1)


@pytest.fixture
def gateway_on_stub(tmp_path):
    """(stub, gateway URL): the gateway process in front of a GrpcStub."""
    with GrpcStub() as stub:
        server = SimpleNamespace(grpc_target=stub.target, model_name="tiny")
        proc, url = start_gateway(server, tmp_path, tmp_path / "gateway.log")
        try:
            yield stub, url
        finally:
            stop(proc)


def test_healthz_retries_an_unavailable_answer_once(gateway_on_stub):
    stub, url = gateway_on_stub
    before = len(stub.calls)
    stub.fail = [grpc.StatusCode.UNAVAILABLE]
    reply = requests.get(f"{url}/healthz", timeout=10)
    assert reply.status_code == 200, reply.text
    assert stub.calls[before:] == [("GetModelStatus", 0), ("GetModelStatus", 1)]


@pytest.mark.parametrize(
    ("code", "status"),
    [(grpc.StatusCode.INVALID_ARGUMENT, 400), (grpc.StatusCode.NOT_FOUND, 503)],
)
def test_healthz_does_not_retry_other_codes(gateway_on_stub, code, status):
    stub, url = gateway_on_stub
    before = len(stub.calls)
    stub.fail = [code]
    reply = requests.get(f"{url}/healthz", timeout=10)
    assert reply.status_code == status, reply.text
    assert code.name in reply.json()["error"]
    assert stub.calls[before:] == [("GetModelStatus", 0)]
