"""Protocol clients used by the engine: aiohttp (REST) and grpc.aio (gRPC).

Both send pre-serialized bytes; nothing is encoded per request. ``call()``
returns ``(status, error_kind, first_error_kind)``: ``error_kind`` is None on
success, and ``first_error_kind`` is the first attempt's error when the
request was retried (``retry_connection_errors``), else None.

Typical usage example:

    client = RestClient(url, body, connections=64, deadline_s=10)
    await client.start()
    status, error, first_error = await client.call()
"""

from __future__ import annotations

import asyncio
import logging
import time

import aiohttp
import grpc

from loadtest import constants

log = logging.getLogger(__name__)

_JSON_HEADERS = {"Content-Type": "application/json"}
# Failures that leave no response behind: refused, reset, closed before replying.
_REST_CONNECTION_FAILURES = (
    aiohttp.ClientOSError,
    aiohttp.ClientConnectionResetError,
    aiohttp.ServerDisconnectedError,
)

Attempt = tuple[str, str | None, bool]


class _Client:
    """``call()`` with the opt-in retry; subclasses implement one attempt.

    Args:
        deadline_s: per-request timeout; a retry gets what the first attempt
            left of it, so a request never takes longer than this.
        retry_connection_errors: retry once, at once, when the first attempt
            failed at the connection level before any response arrived.
    """

    def __init__(self, deadline_s: float, retry_connection_errors: bool):
        self.deadline_s = deadline_s
        self.retry_connection_errors = retry_connection_errors

    async def _attempt(self, retry: bool, timeout_s: float) -> Attempt:
        """Send once; return (status, error kind or None, retryable)."""
        raise NotImplementedError

    async def call(self) -> tuple[str, str | None, str | None]:
        """Send one predict request (two attempts at most); see the module doc."""
        if not self.retry_connection_errors:
            status, error, _ = await self._attempt(False, self.deadline_s)
            return status, error, None
        start = time.perf_counter()
        status, error, retryable = await self._attempt(False, self.deadline_s)
        remaining = self.deadline_s - (time.perf_counter() - start)
        if not retryable or remaining <= 0:
            return status, error, None
        status, final_error, _ = await self._attempt(True, remaining)
        return status, final_error, error


class RestClient(_Client):
    """HTTP/1.1 client: one request in flight per connection, pool of N.

    A retry goes over a separate connector that opens a new connection for
    each request and closes it afterwards, so it never reuses a pooled
    connection that may be as dead as the one that just failed.

    Args:
        url: full predict URL.
        body: JSON request bytes (serialized once).
        connections: pool size; also the in-flight cap.
        deadline_s: per-request total timeout.
        retry_connection_errors: see ``_Client``.
    """

    def __init__(
        self,
        url: str,
        body: bytes,
        connections: int,
        deadline_s: float,
        retry_connection_errors: bool = False,
    ):
        super().__init__(deadline_s, retry_connection_errors)
        self.url = url
        self.body = body
        self.connections = connections
        self.timeout = aiohttp.ClientTimeout(total=deadline_s)
        self.session: aiohttp.ClientSession | None = None
        self.fresh_session: aiohttp.ClientSession | None = None

    def _session(self, force_close: bool) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self.connections,
            limit_per_host=self.connections,
            ttl_dns_cache=300,
            force_close=force_close,
        )
        return aiohttp.ClientSession(
            connector=connector,
            timeout=self.timeout,
            skip_auto_headers=("User-Agent",),
        )

    async def start(self) -> None:
        """Open the session (connections are made lazily, during warm-up)."""
        self.session = self._session(force_close=False)
        if self.retry_connection_errors:
            self.fresh_session = self._session(force_close=True)

    async def _attempt(self, retry: bool, timeout_s: float) -> Attempt:
        session = self.fresh_session if retry else self.session
        assert session is not None
        timeout = aiohttp.ClientTimeout(total=timeout_s) if retry else self.timeout
        responded = False
        try:
            async with session.post(
                self.url, data=self.body, headers=_JSON_HEADERS, timeout=timeout
            ) as resp:
                responded = True
                await resp.read()
                status = resp.status
        except asyncio.TimeoutError:
            return "timeout", "timeout", False
        except aiohttp.ClientConnectionError as exc:
            retryable = (
                not responded
                and isinstance(exc, _REST_CONNECTION_FAILURES)
                and not isinstance(exc, aiohttp.ClientSSLError)
            )
            return "connection", f"connection:{type(exc).__name__}", retryable
        except aiohttp.ClientError as exc:
            return "client", f"client:{type(exc).__name__}", False
        if status == 200:
            return "200", None, False
        return str(status), f"http_{status}", False

    async def close(self) -> None:
        """Close the sessions and their connections."""
        for session in (self.session, self.fresh_session):
            if session is not None:
                await session.close()


class GrpcClient(_Client):
    """gRPC client over K distinct TCP connections, round-robin per request.

    A retry (status UNAVAILABLE only) goes to the next channel in the
    rotation: another TCP connection when K > 1. With one channel it is the
    same channel, which gRPC reconnects by itself if its connection was lost.

    Args:
        target: ``host:port``.
        request: serialized PredictRequest bytes.
        connections: number of channels; each gets a local subchannel pool and
            a unique channel argument so it opens its own TCP connection.
        deadline_s: per-RPC deadline.
        method: full method path.
        retry_connection_errors: see ``_Client``.
    """

    def __init__(
        self,
        target: str,
        request: bytes,
        connections: int,
        deadline_s: float,
        method: str = constants.GRPC_PREDICT_METHOD,
        retry_connection_errors: bool = False,
    ):
        super().__init__(deadline_s, retry_connection_errors)
        self.target = target
        self.request = request
        self.connections = connections
        self.method = method
        self.channels: list[grpc.aio.Channel] = []
        self.stubs: list = []
        self._next = 0

    async def start(self) -> None:
        """Open K channels and wait until each is connected."""
        for index in range(self.connections):
            channel = grpc.aio.insecure_channel(
                self.target,
                options=[
                    ("grpc.use_local_subchannel_pool", 1),
                    ("loadtest.channel_index", index),
                    ("grpc.max_receive_message_length", -1),
                    ("grpc.max_send_message_length", -1),
                ],
            )
            self.channels.append(channel)
            self.stubs.append(
                channel.unary_unary(
                    self.method, request_serializer=None, response_deserializer=None
                )
            )
        await asyncio.wait_for(
            asyncio.gather(*(c.channel_ready() for c in self.channels)),
            timeout=self.deadline_s,
        )

    async def _attempt(self, retry: bool, timeout_s: float) -> Attempt:
        stub = self.stubs[self._next]
        self._next = (self._next + 1) % len(self.stubs)
        try:
            await stub(self.request, timeout=timeout_s)
        except grpc.aio.AioRpcError as exc:
            code = exc.code()
            return code.name, f"grpc_{code.name}", code == grpc.StatusCode.UNAVAILABLE
        return "OK", None, False

    async def close(self) -> None:
        """Close every channel."""
        for channel in self.channels:
            await channel.close()
