"""Protocol clients used by the engine: aiohttp (REST) and grpc.aio (gRPC).

Both send pre-serialized bytes; nothing is encoded per request. ``call()``
returns ``(status, error_kind)`` where ``error_kind`` is None on success.

Typical usage example:

    client = RestClient(url, body, connections=64, deadline_s=10)
    await client.start()
    status, error = await client.call()
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import grpc

from loadtest import constants

log = logging.getLogger(__name__)

_JSON_HEADERS = {"Content-Type": "application/json"}


class RestClient:
    """HTTP/1.1 client: one request in flight per connection, pool of N.

    Args:
        url: full predict URL.
        body: JSON request bytes (serialized once).
        connections: pool size; also the in-flight cap.
        deadline_s: per-request total timeout.
    """

    def __init__(self, url: str, body: bytes, connections: int, deadline_s: float):
        self.url = url
        self.body = body
        self.connections = connections
        self.deadline_s = deadline_s
        self.session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        """Open the session (connections are made lazily, during warm-up)."""
        connector = aiohttp.TCPConnector(
            limit=self.connections,
            limit_per_host=self.connections,
            ttl_dns_cache=300,
        )
        self.session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=self.deadline_s),
            skip_auto_headers=("User-Agent",),
        )

    async def call(self) -> tuple[str, str | None]:
        """Send one predict request and read the whole response body."""
        assert self.session is not None
        try:
            async with self.session.post(
                self.url, data=self.body, headers=_JSON_HEADERS
            ) as resp:
                await resp.read()
                status = resp.status
        except asyncio.TimeoutError:
            return "timeout", "timeout"
        except aiohttp.ClientConnectionError as exc:
            return "connection", f"connection:{type(exc).__name__}"
        except aiohttp.ClientError as exc:
            return "client", f"client:{type(exc).__name__}"
        if status == 200:
            return "200", None
        return str(status), f"http_{status}"

    async def close(self) -> None:
        """Close the session and its connections."""
        if self.session is not None:
            await self.session.close()


class GrpcClient:
    """gRPC client over K distinct TCP connections, round-robin per request.

    Args:
        target: ``host:port``.
        request: serialized PredictRequest bytes.
        connections: number of channels; each gets a local subchannel pool and
            a unique channel argument so it opens its own TCP connection.
        deadline_s: per-RPC deadline.
        method: full method path.
    """

    def __init__(
        self,
        target: str,
        request: bytes,
        connections: int,
        deadline_s: float,
        method: str = constants.GRPC_PREDICT_METHOD,
    ):
        self.target = target
        self.request = request
        self.connections = connections
        self.deadline_s = deadline_s
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

    async def call(self) -> tuple[str, str | None]:
        """Send one Predict RPC with the pre-serialized request."""
        stub = self.stubs[self._next]
        self._next = (self._next + 1) % len(self.stubs)
        try:
            await stub(self.request, timeout=self.deadline_s)
        except grpc.aio.AioRpcError as exc:
            name = exc.code().name
            return name, f"grpc_{name}"
        return "OK", None

    async def close(self) -> None:
        """Close every channel."""
        for channel in self.channels:
            await channel.close()
