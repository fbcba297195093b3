"""Loopback servers that fail the way a stopping TF Serving pod does.

- ``HttpStub``: answers every HTTP request with one status and JSON body and
  counts what it received.
- ``DropProxy``: a TCP proxy that closes (or resets) the first connections
  without answering, or resets an open connection on its next request, as a pod
  dying under a kept-alive connection does.
- ``GrpcStub``: TF Serving's GetModelStatus and Predict with a scripted list of
  status codes to answer first; records each attempt's
  ``grpc-previous-rpc-attempts``.

Typical usage example:

    with HttpStub(200, {"ok": 1}) as stub, DropProxy(stub.port, drop_first=1) as px:
        requests.get(px.url)          # one retry: px.connections == 2
"""

from __future__ import annotations

import json
import socket
import struct
import threading
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
import numpy as np

from tfserving_contract import protos, tensors


def _reset(sock: socket.socket) -> None:
    """Closes with RST (SO_LINGER 0), as a killed process's socket may."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    except OSError:
        pass


def _is_request(data: bytes) -> bool:
    """False only for whole HTTP/2 frames none of which is HEADERS (type 1)."""
    offset = 0
    while offset + 9 <= len(data):
        if data[offset + 3] == 1:
            return True
        offset += 9 + int.from_bytes(data[offset : offset + 3], "big")
    return offset != len(data)


class HttpStub:
    """HTTP/1.1 keep-alive server answering `status` with `body` as JSON."""

    def __init__(self, status: int = 200, body: Any = None) -> None:
        self.status = status
        self.body = json.dumps({} if body is None else body).encode()
        self.requests: list[tuple[str, str]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                stub.requests.append((self.command, self.path))
                self.send_response(stub.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(stub.body)))
                self.end_headers()
                self.wfile.write(stub.body)

            do_GET = do_POST = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> HttpStub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class DropProxy:
    """TCP proxy on 127.0.0.1 in front of ``127.0.0.1:upstream_port``.

    Args:
        upstream_port: where answered connections go.
        drop_first: how many connections to take down after their first bytes
            (the request) without forwarding anything.
        reset: take them down with RST instead of FIN.
    """

    def __init__(
        self, upstream_port: int, drop_first: int = 0, reset: bool = False
    ) -> None:
        self.upstream_port = upstream_port
        self.drop_first = drop_first
        self.reset = reset
        self.connections = 0
        self.dropped = 0
        self._armed = threading.Event()
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.target = f"127.0.0.1:{self.port}"
        threading.Thread(target=self._accept, daemon=True).start()

    def break_next_request(self) -> None:
        """The next request a client sends on an open connection resets it instead.

        A request is any HTTP/1 data, or HTTP/2 data that opens a stream (a
        HEADERS frame): gRPC's pings and window updates pass.
        """
        self._armed.set()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                drop = self.connections <= self.drop_first
                self._open.append(client)
            if drop:
                threading.Thread(target=self._drop, args=(client,), daemon=True).start()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            except OSError:
                _reset(client)
                continue
            self._open.append(upstream)
            threading.Thread(
                target=self._pump, args=(client, upstream, True), daemon=True
            ).start()
            threading.Thread(
                target=self._pump, args=(upstream, client, False), daemon=True
            ).start()

    def _drop(self, client: socket.socket) -> None:
        try:
            client.settimeout(5)
            client.recv(65536)
        except OSError:
            pass
        with self._lock:
            self.dropped += 1
        if self.reset:
            _reset(client)
        else:
            client.close()

    def _pump(self, src: socket.socket, dst: socket.socket, upward: bool) -> None:
        try:
            while data := src.recv(65536):
                if upward and self._armed.is_set() and _is_request(data):
                    self._armed.clear()
                    with self._lock:
                        self.dropped += 1
                    _reset(src)
                    dst.close()
                    return
                dst.sendall(data)
        except OSError:
            pass
        for sock in (src, dst):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        self.listener.close()
        with self._lock:
            for sock in self._open:
                try:
                    sock.close()
                except OSError:
                    pass

    def __enter__(self) -> DropProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class GrpcStub:
    """A gRPC server with TF Serving's GetModelStatus and Predict.

    Each call first takes the next code of ``fail`` (if any) and aborts with it;
    otherwise it answers: version 1 AVAILABLE, or a Predict reply from version 1
    with output ``y`` = [[0.5]].
    """

    def __init__(self, fail: list[grpc.StatusCode] | None = None) -> None:
        self.fail = list(fail or [])
        self.calls: list[tuple[str, int]] = []
        self._lock = threading.Lock()
        handlers = {
            ("tensorflow.serving.ModelService", "GetModelStatus"): (
                "tensorflow.serving.GetModelStatusRequest",
                self._status,
            ),
            ("tensorflow.serving.PredictionService", "Predict"): (
                "tensorflow.serving.PredictRequest",
                self._predict,
            ),
        }
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        for service in {s for s, _ in handlers}:
            self.server.add_generic_rpc_handlers(
                (
                    grpc.method_handlers_generic_handler(
                        service,
                        {
                            method: grpc.unary_unary_rpc_method_handler(
                                self._wrap(method, answer),
                                request_deserializer=protos.message(request).FromString,
                                response_serializer=lambda m: m.SerializeToString(),
                            )
                            for (svc, method), (request, answer) in handlers.items()
                            if svc == service
                        },
                    ),
                )
            )
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.target = f"127.0.0.1:{self.port}"
        self.server.start()

    def _wrap(self, method: str, answer: Any) -> Any:
        def handle(request: Any, context: grpc.ServicerContext) -> Any:
            metadata = dict(context.invocation_metadata())
            with self._lock:
                self.calls.append(
                    (method, int(metadata.get("grpc-previous-rpc-attempts", 0)))
                )
                code = self.fail.pop(0) if self.fail else None
            if code is not None:
                context.abort(code, f"scripted {code.name}")
            return answer(request)

        return handle

    @staticmethod
    def _status(request: Any) -> Any:
        response = protos.message("tensorflow.serving.GetModelStatusResponse")()
        item = response.model_version_status.add()
        item.version = 1
        item.state = protos.enum_value(
            "tensorflow.serving.ModelVersionStatus.State", "AVAILABLE"
        )
        return response

    @staticmethod
    def _predict(request: Any) -> Any:
        response = protos.message("tensorflow.serving.PredictResponse")()
        response.model_spec.name = request.model_spec.name
        response.model_spec.version.value = 1
        response.outputs["y"].CopyFrom(tensors.to_proto(np.array([[0.5]]), "DT_FLOAT"))
        return response

    def close(self) -> None:
        self.server.stop(grace=None)

    def __enter__(self) -> GrpcStub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
