"""Loopback REST and gRPC servers with fixed responses (the tool's own test target).

They stand in for nothing: they answer ``POST /v1/models/<m>:predict`` and
``tensorflow.serving.PredictionService/Predict`` with a fixed small response as
fast as possible, so a load run against them measures the load generator. Fault
injection (fixed delay, one stall or periodic stalls, periodic errors, periodic
REST connection drops, a fixed capacity) lets tests check that the generator
reports what a slow, failing or saturated server does.

Typical usage example:

    python -m loadtest.loopback --rest-port 18501 --grpc-port 18500
    # or, from Python:
    with LoopbackServer(delay_ms=1) as srv:
        print(srv.rest_target, srv.grpc_target)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np

from tfserving_contract import protos, tensors

log = logging.getLogger(__name__)

PREDICTIONS = [[0.1] * 10]
REST_RESPONSE = json.dumps({"predictions": PREDICTIONS}).encode()
GRPC_PREDICT = "Predict"
GRPC_SERVICE = "tensorflow.serving.PredictionService"
# What Faults.apply() tells a handler to do with the request.
ANSWER, FAIL, DROP = "answer", "fail", "drop"


def predict_response_bytes(
    model_name: str = "loopback", output: str = "probabilities"
) -> bytes:
    """Wire bytes of a PredictResponse with one float32 (1, 10) output.

    Built with the contract's messages (no TensorFlow), once per server start.
    """
    response = protos.message("tensorflow.serving.PredictResponse")()
    response.model_spec.name = model_name
    response.model_spec.version.value = 1
    response.model_spec.signature_name = "serving_default"
    proto = response.outputs[output]
    proto.dtype = protos.enum_value("tensorflow.DataType", "DT_FLOAT")
    for size in (1, len(PREDICTIONS[0])):
        proto.tensor_shape.dim.add().size = size
    proto.float_val.extend(PREDICTIONS[0])
    return response.SerializeToString()


def predict_request_bytes(
    model_name: str = "loopback", input_name: str = "image", shape=(1, 28, 28, 1)
) -> bytes:
    """Wire bytes of a zero-filled float32 PredictRequest (tensor_content form).

    Used by selftest and bench so the gRPC payload has the fashion-MNIST size.
    """
    request = protos.message("tensorflow.serving.PredictRequest")()
    request.model_spec.name = model_name
    request.model_spec.signature_name = "serving_default"
    request.inputs[input_name].CopyFrom(
        tensors.to_proto(np.zeros(shape, np.float32), "DT_FLOAT")
    )
    return request.SerializeToString()


def rest_request_bytes(shape=(1, 28, 28, 1)) -> bytes:
    """Zero-filled row-format REST body of the given shape (batch first)."""

    def nest(dims: tuple) -> object:
        return 0.0 if not dims else [nest(dims[1:]) for _ in range(dims[0])]

    doc = {"signature_name": "serving_default", "instances": nest(tuple(shape))}
    return json.dumps(doc, separators=(",", ":")).encode()


def check_stall_window(stall_ms: float, stall_period_ms: float) -> None:
    """Raises ValueError unless a periodic stall is shorter than its period."""
    if stall_period_ms and not 0 <= stall_ms < stall_period_ms:
        raise ValueError("--stall-ms must be below --stall-period-ms")


def periodic_stall_wait_s(elapsed_s: float, period_s: float, stall_s: float) -> float:
    """Seconds until the stall window around ``elapsed_s`` ends (0 outside one).

    The windows are ``[k*period, k*period + stall)`` from the server's start.
    """
    if not period_s or not stall_s:
        return 0.0
    phase = elapsed_s % period_s
    return stall_s - phase if phase < stall_s else 0.0


class Faults:
    """Shared fault-injection state for both protocols.

    Args:
        delay_ms: fixed extra delay for every request.
        stall_after: the request with this 1-based number starts a stall.
        stall_ms: stall length; every request arriving during it waits it out,
            then the fixed delay applies.
        stall_period_ms: stall for ``stall_ms`` every this many ms, from the
            start (0 = no periodic stalls): windows ``[k*T, k*T + S)``, as in
            wrk2's coordinated-omission demonstration.
        error_every: every N-th request fails (0 = never).
        drop_every: the N-th, 2N-th, ... request on each REST connection gets
            no answer: the server reads it and closes the connection (0 =
            never; gRPC ignores it). Counting per connection models a server
            closing keep-alive connections, and leaves a retry on a fresh
            connection unharmed whatever the timing.
        capacity: requests per second this process serves (0 = unlimited):
            requests queue for one lane that takes 1/capacity s each, so below
            the capacity latency stays flat and above it the queue grows without
            bound, as on a saturated server: a known capacity for
            ``tfs-load capacity`` to find.
    """

    def __init__(
        self,
        delay_ms: float,
        stall_after: int,
        stall_ms: float,
        error_every: int,
        drop_every: int = 0,
        capacity: float = 0.0,
        stall_period_ms: float = 0.0,
    ):
        check_stall_window(stall_ms, stall_period_ms)
        self.delay_s = delay_ms / 1000
        self.stall_after = stall_after
        self.stall_s = stall_ms / 1000
        self.period_s = stall_period_ms / 1000
        self.start = time.monotonic()
        self.error_every = error_every
        self.drop_every = drop_every
        self.service_s = 1 / capacity if capacity else 0.0
        self.lane_free = 0.0
        self.count = 0
        self.stall_until = 0.0
        self.per_connection: dict[asyncio.BaseTransport, int] = {}

    def _drops(self, connection: asyncio.BaseTransport | None) -> bool:
        if not self.drop_every or connection is None:
            return False
        if len(self.per_connection) > 256:
            self.per_connection = {
                t: n for t, n in self.per_connection.items() if not t.is_closing()
            }
        n = self.per_connection.get(connection, 0) + 1
        self.per_connection[connection] = n
        if n % self.drop_every:
            return False
        del self.per_connection[connection]
        return True

    async def apply(self, connection: asyncio.BaseTransport | None = None) -> str:
        """Wait as configured; return ANSWER, FAIL or DROP for this request.

        Args:
            connection: the request's transport (REST), for ``drop_every``.
        """
        now = time.monotonic()
        self.count += 1
        count = self.count
        drop = self._drops(connection)
        wait = self.delay_s
        if self.stall_after and count == self.stall_after:
            self.stall_until = now + self.stall_s
        if self.stall_until:
            wait += max(0.0, self.stall_until - now)
        if self.period_s:
            wait += periodic_stall_wait_s(now - self.start, self.period_s, self.stall_s)
        if self.service_s:
            self.lane_free = max(now, self.lane_free) + self.service_s
            wait += self.lane_free - now
        if wait > 0:
            await asyncio.sleep(wait)
        if drop:
            return DROP
        if self.error_every and count % self.error_every == 0:
            return FAIL
        return ANSWER


async def _serve(args: argparse.Namespace) -> None:
    import grpc
    from aiohttp import web

    faults = Faults(
        args.delay_ms,
        args.stall_after,
        args.stall_ms,
        args.error_every,
        args.drop_every,
        args.capacity,
        args.stall_period_ms,
    )
    ok_body = REST_RESPONSE
    error_body = json.dumps({"error": "loopback injected error"}).encode()
    status_body = json.dumps(
        {
            "model_version_status": [
                {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK"}}
            ]
        }
    ).encode()
    metadata_body = json.dumps(
        {
            "model_spec": {"name": args.model_name, "version": "1"},
            "metadata": {
                "signature_def": {
                    "signature_def": {
                        "serving_default": {
                            "inputs": {
                                "image": {
                                    "dtype": "DT_FLOAT",
                                    "tensor_shape": {
                                        "dim": [
                                            {"size": "-1"},
                                            {"size": "28"},
                                            {"size": "28"},
                                            {"size": "1"},
                                        ]
                                    },
                                    "name": "serving_default_image:0",
                                }
                            },
                            "outputs": {},
                            "method_name": "tensorflow/serving/predict",
                        }
                    }
                }
            },
        }
    ).encode()
    json_type = "application/json"

    async def handle(request: web.BaseRequest) -> web.Response:
        path = request.path
        if request.method == "POST" and path.endswith(":predict"):
            await request.read()
            action = await faults.apply(request.transport)
            if action == DROP:
                request.transport.close()
                return web.Response(body=ok_body, content_type=json_type)
            if action == FAIL:
                return web.Response(
                    status=args.error_status, body=error_body, content_type=json_type
                )
            return web.Response(body=ok_body, content_type=json_type)
        if path.endswith("/metadata"):
            return web.Response(body=metadata_body, content_type=json_type)
        if path.startswith("/v1/models/"):
            return web.Response(body=status_body, content_type=json_type)
        if path == "/monitoring/prometheus/metrics":
            text = (
                "# TYPE :tensorflow:serving:request_count counter\n"
                f':tensorflow:serving:request_count{{entrypoint="REST",'
                f'model_name="{args.model_name}",status="OK"}} {faults.count}\n'
            )
            return web.Response(text=text, content_type="text/plain")
        return web.Response(status=404, body=b'{"error": "not found"}')

    response = predict_response_bytes(args.model_name)
    grpc_error = grpc.StatusCode[args.grpc_error]

    async def predict(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        if await faults.apply() == FAIL:
            await context.abort(grpc_error, "loopback injected error")
        return response

    handler = grpc.method_handlers_generic_handler(
        GRPC_SERVICE,
        {
            GRPC_PREDICT: grpc.unary_unary_rpc_method_handler(
                predict, request_deserializer=None, response_serializer=None
            )
        },
    )
    grpc_server = grpc.aio.server(
        options=[
            ("grpc.so_reuseport", 1),
            ("grpc.max_receive_message_length", -1),
            ("grpc.max_send_message_length", -1),
        ]
    )
    grpc_server.add_generic_rpc_handlers((handler,))
    grpc_server.add_insecure_port(f"127.0.0.1:{args.grpc_port}")
    await grpc_server.start()

    server = web.Server(handle, access_log=None)
    runner = web.ServerRunner(server, access_log=None)
    await runner.setup()
    site = web.TCPSite(
        runner, "127.0.0.1", args.rest_port, reuse_port=True, backlog=4096
    )
    await site.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(json.dumps({"ready": True, "pid": os.getpid()}), flush=True)
    await stop.wait()
    await grpc_server.stop(0.5)
    await runner.cleanup()


def free_ports(count: int) -> list[int]:
    """Returns ``count`` distinct TCP ports free on 127.0.0.1 right now.

    All are bound at once before any is released, so two never coincide.
    """
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket())
            sock.bind(("127.0.0.1", 0))
            ports.append(sock.getsockname()[1])
        return ports


def free_port() -> int:
    """Returns a TCP port free on 127.0.0.1 right now."""
    return free_ports(1)[0]


class LoopbackServer:
    """Start loopback servers in child processes (SO_REUSEPORT when > 1).

    Args:
        processes: server processes sharing the two ports.
        delay_ms, stall_after, stall_ms, stall_period_ms, error_every,
            error_status, drop_every, grpc_error, capacity: faults (``grpc_error``
            is a status code name; ``capacity`` and the stall windows are per
            server process).
        model_name: name used in responses.
    """

    def __init__(
        self,
        processes: int = 1,
        delay_ms: float = 0.0,
        stall_after: int = 0,
        stall_ms: float = 0.0,
        error_every: int = 0,
        error_status: int = 500,
        model_name: str = "loopback",
        drop_every: int = 0,
        grpc_error: str = "UNAVAILABLE",
        capacity: float = 0.0,
        stall_period_ms: float = 0.0,
    ):
        self.rest_port, self.grpc_port = free_ports(2)
        self.model_name = model_name
        self.argv = [
            sys.executable,
            "-m",
            "loadtest.loopback",
            f"--rest-port={self.rest_port}",
            f"--grpc-port={self.grpc_port}",
            f"--delay-ms={delay_ms}",
            f"--stall-after={stall_after}",
            f"--stall-ms={stall_ms}",
            f"--error-every={error_every}",
            f"--error-status={error_status}",
            f"--model-name={model_name}",
            f"--drop-every={drop_every}",
            f"--grpc-error={grpc_error}",
            f"--capacity={capacity}",
            f"--stall-period-ms={stall_period_ms}",
        ]
        self.processes = processes
        self.children: list[subprocess.Popen] = []

    @property
    def rest_target(self) -> str:
        """Base URL of the REST server."""
        return f"http://127.0.0.1:{self.rest_port}"

    @property
    def grpc_target(self) -> str:
        """``host:port`` of the gRPC server."""
        return f"127.0.0.1:{self.grpc_port}"

    def start(self) -> LoopbackServer:
        """Start the children and wait for each to report ready."""
        for _ in range(self.processes):
            child = subprocess.Popen(self.argv, stdout=subprocess.PIPE, text=True)
            self.children.append(child)
            line = child.stdout.readline() if child.stdout else ""
            if not line.strip().startswith("{"):
                self.stop()
                raise RuntimeError(f"loopback server failed to start: {line!r}")
        return self

    def stop(self) -> None:
        """Terminate the children (SIGTERM, then kill after 5 s)."""
        for child in self.children:
            if child.poll() is None:
                child.terminate()
        for child in self.children:
            try:
                child.wait(timeout=5)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        self.children.clear()

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def build_parser() -> argparse.ArgumentParser:
    """Argument parser for ``python -m loadtest.loopback``."""
    parser = argparse.ArgumentParser(
        prog="python -m loadtest.loopback",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--rest-port", type=int, default=18501, help="REST port")
    parser.add_argument("--grpc-port", type=int, default=18500, help="gRPC port")
    parser.add_argument(
        "--model-name", default="loopback", help="model name in responses"
    )
    parser.add_argument("--delay-ms", type=float, default=0.0, help="delay per request")
    parser.add_argument(
        "--stall-after", type=int, default=0, help="request number that starts a stall"
    )
    parser.add_argument("--stall-ms", type=float, default=0.0, help="stall length")
    parser.add_argument(
        "--stall-period-ms",
        type=float,
        default=0.0,
        help="stall for --stall-ms every this many ms from the start (0 = never)",
    )
    parser.add_argument(
        "--error-every", type=int, default=0, help="fail every N-th predict (0 = never)"
    )
    parser.add_argument(
        "--error-status", type=int, default=500, help="HTTP status of injected errors"
    )
    parser.add_argument(
        "--grpc-error",
        default="UNAVAILABLE",
        help="gRPC status code name of injected errors",
    )
    parser.add_argument(
        "--drop-every",
        type=int,
        default=0,
        help="REST: close the connection without answering every N-th predict "
        "on each connection (0 = never)",
    )
    parser.add_argument(
        "--capacity",
        type=float,
        default=0.0,
        help="predicts per second served, one at a time in arrival order "
        "(0 = unlimited)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGTERM/SIGINT."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        check_stall_window(args.stall_ms, args.stall_period_ms)
    except ValueError as exc:
        parser.error(str(exc))
    try:
        import uvloop  # type: ignore[import-not-found]

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(_serve(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
