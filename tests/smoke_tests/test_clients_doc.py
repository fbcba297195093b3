"""The snippets of docs/clients.md ("Clients that lose no request") run and match.

Each snippet is taken from docs/clients.md as written, run against loopback servers
from tests/smoke_tests/faults.py, and its settings compared with the project's
(tfserving_contract.rest_client.retry_once,
tfserving_contract.grpc_client.RETRY_SERVICE_CONFIG).
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import json
import re

import aiohttp
import grpc
import pytest
import requests

from tests.processes import REPO_ROOT
from tests.smoke_tests.faults import DropProxy, GrpcStub, HttpStub
from tfserving_contract import grpc_client, protos, rest_client

DOC = REPO_ROOT / "docs" / "clients.md"
BODY = {"instances": [[1.0]]}
ANSWER = {"predictions": [[0.5]]}


def _blocks() -> list[tuple[str, str]]:
    """(language, code) of each fenced block of the page, in order."""
    return re.findall(r"```(\w+)\n(.*?)```", DOC.read_text(), re.DOTALL)


def _snippet(language: str, marker: str) -> str:
    found = [code for lang, code in _blocks() if lang == language and marker in code]
    assert len(found) == 1, f"one {language} block with {marker!r} expected"
    return found[0]


def _requests_session(url: str) -> requests.Response:
    """Runs the README's requests snippet (it ends with one predict)."""
    scope = {"url": url, "model": "m", "body": BODY}
    exec(_snippet("python", "requests.Session()"), scope)  # noqa: S102
    return scope["reply"]


def _keywords(tree: ast.AST, function: str) -> dict[str, object]:
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == function
    ]
    assert len(calls) == 1
    return {k.arg: ast.literal_eval(k.value) for k in calls[0].keywords}


def test_readme_requests_retry_equals_the_clients():
    readme = _keywords(ast.parse(_snippet("python", "RetryOnce(")), "RetryOnce")
    code = _keywords(ast.parse(inspect.getsource(rest_client.retry_once)), "RetryOnce")
    assert readme == code


@pytest.mark.parametrize("reset", [False, True], ids=["closed", "reset"])
def test_readme_requests_snippet_survives_a_dropped_connection(reset):
    with (
        HttpStub(200, ANSWER) as stub,
        DropProxy(stub.port, drop_first=1, reset=reset) as proxy,
    ):
        reply = _requests_session(proxy.url)
    assert (reply.status_code, reply.json()) == (200, ANSWER)
    assert proxy.connections == 2
    assert stub.requests == [("POST", "/v1/models/m:predict")]


def test_readme_requests_snippet_does_not_retry_a_500():
    with HttpStub(500, {"error": "boom"}) as stub:
        assert _requests_session(stub.url).status_code == 500
    assert len(stub.requests) == 1


def test_a_naive_requests_session_fails_on_a_reset_kept_alive_connection():
    """What the page says a client without the retry sees."""
    with HttpStub(200, ANSWER) as stub, DropProxy(stub.port) as proxy:
        with requests.Session() as session:
            url = f"{proxy.url}/v1/models/m:predict"
            assert session.post(url, json=BODY, timeout=5).status_code == 200
            proxy.break_next_request()
            with pytest.raises(requests.ConnectionError):
                session.post(url, json=BODY, timeout=5)


async def _aiohttp_two_posts(url: str, proxy: DropProxy | None, wrapped: bool):
    """Two POSTs on one session; the proxy breaks the kept-alive one between."""
    scope: dict = {}
    exec(_snippet("python", "aiohttp"), scope)  # noqa: S102
    async with aiohttp.ClientSession() as session:

        async def post() -> tuple[int, dict]:
            if wrapped:
                return await scope["post_json"](session, url, BODY)
            async with session.post(url, json=BODY) as reply:
                return reply.status, await reply.json()

        first = await post()
        if proxy is not None:
            proxy.break_next_request()
        return first, await post()


def test_readme_aiohttp_wrapper_survives_a_reset_kept_alive_connection():
    with HttpStub(200, ANSWER) as stub, DropProxy(stub.port) as proxy:
        url = f"{proxy.url}/v1/models/m:predict"
        first, second = asyncio.run(_aiohttp_two_posts(url, proxy, wrapped=True))
    assert first == second == (200, ANSWER)
    assert (proxy.connections, proxy.dropped, len(stub.requests)) == (2, 1, 2)


def test_readme_aiohttp_wrapper_does_not_retry_a_500():
    with HttpStub(500, {"error": "boom"}) as stub:
        url = f"{stub.url}/v1/models/m:predict"
        first, second = asyncio.run(_aiohttp_two_posts(url, None, wrapped=True))
    assert first == second == (500, {"error": "boom"})
    assert len(stub.requests) == 2


def test_plain_aiohttp_repeats_a_get_but_not_a_post():
    """The page's reason for wrapping aiohttp's POST."""

    async def once(method: str, url: str) -> int:
        async with aiohttp.ClientSession() as session:
            async with session.request(method, url, json=BODY) as reply:
                return reply.status

    with (
        HttpStub(200, ANSWER) as stub,
        DropProxy(stub.port, drop_first=1) as get_proxy,
        DropProxy(stub.port, drop_first=1) as post_proxy,
    ):
        assert asyncio.run(once("GET", f"{get_proxy.url}/v1/models/m")) == 200
        with pytest.raises(aiohttp.ServerDisconnectedError):
            asyncio.run(once("POST", f"{post_proxy.url}/v1/models/m:predict"))
    assert (get_proxy.connections, post_proxy.connections) == (2, 1)
    assert stub.requests == [("GET", "/v1/models/m")]


def test_readme_grpc_service_config_equals_the_clients():
    readme = json.loads(_snippet("json", "retryPolicy"))
    assert readme == grpc_client.RETRY_SERVICE_CONFIG


@pytest.mark.parametrize(
    ("fail", "calls", "ok"),
    [
        ([grpc.StatusCode.UNAVAILABLE], 2, True),
        ([grpc.StatusCode.INVALID_ARGUMENT], 1, False),
    ],
    ids=["unavailable-retried", "invalid-argument-final"],
)
def test_readme_grpc_channel_retries_unavailable_only(fail, calls, ok):
    with GrpcStub(fail=list(fail)) as stub:
        scope = {"target": stub.target, "cfg": json.loads(_snippet("json", "retry"))}
        exec(_snippet("python", "grpc.insecure_channel"), scope)  # noqa: S102
        channel = scope["channel"]
        status = channel.unary_unary(
            "/tensorflow.serving.ModelService/GetModelStatus",
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=protos.message(
                "tensorflow.serving.GetModelStatusResponse"
            ).FromString,
        )
        request = protos.message("tensorflow.serving.GetModelStatusRequest")()
        request.model_spec.name = "m"
        try:
            status(request, timeout=5)
            succeeded = True
        except grpc.RpcError as err:
            assert err.code() == fail[0]
            succeeded = False
        finally:
            channel.close()
    assert succeeded is ok
    assert len(stub.calls) == calls
