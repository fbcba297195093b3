"""Minimal TF Serving gRPC client with deadlines and message-size options.

Uses the published tensorflow-serving-api message definitions through
:mod:`smoke_tests.protos`, so TensorFlow itself is never imported.

The channel carries :data:`RETRY_SERVICE_CONFIG`: gRPC itself repeats a call
once, after a short backoff and on another connection if the first broke, when
it ends UNAVAILABLE before any answer came (a stopping pod resets its
connections). Every other status code is final. gRPC does not tell the caller
that it retried; :meth:`GrpcClient.counts` and :func:`retry_note` read what its
channelz data shows.

Typical usage example:

    with GrpcClient("127.0.0.1:8500", timeout=10, max_message_mb=64) as client:
        status = client.get_model_status("fashion_mnist")
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from tfserving_contract import protos

logger = logging.getLogger(__name__)

_PREDICT = "/tensorflow.serving.PredictionService/Predict"
_METADATA = "/tensorflow.serving.PredictionService/GetModelMetadata"
_STATUS = "/tensorflow.serving.ModelService/GetModelStatus"

# Predict, Classify, Regress, MultiInference, GetModelMetadata and GetModelStatus
# only read: safe to send twice. HandleReloadConfigRequest is left out.
RETRY_SERVICE_CONFIG: dict[str, Any] = {
    "methodConfig": [
        {
            "name": [
                {"service": "tensorflow.serving.PredictionService"},
                {
                    "service": "tensorflow.serving.ModelService",
                    "method": "GetModelStatus",
                },
            ],
            "retryPolicy": {
                "maxAttempts": 2,
                "initialBackoff": "0.05s",
                "maxBackoff": "0.05s",
                "backoffMultiplier": 1,
                "retryableStatusCodes": ["UNAVAILABLE"],
            },
        }
    ]
}


class GrpcCallError(RuntimeError):
    """A call failed; ``code`` is the status code name, e.g. ``NOT_FOUND``."""

    def __init__(self, method: str, code: str, details: str) -> None:
        super().__init__(f"{method}: {code}: {details}")
        self.code = code
        self.details = details


def model_spec(
    message: Any,
    model: str,
    version: int | None = None,
    label: str | None = None,
    signature_name: str | None = None,
) -> None:
    """Fills a ``tensorflow.serving.ModelSpec`` in place."""
    message.name = model
    if version is not None:
        message.version.value = version
    elif label is not None:
        message.version_label = label
    if signature_name:
        message.signature_name = signature_name


class GrpcClient:
    """Calls PredictionService and ModelService on one channel."""

    def __init__(self, target: str, timeout: float, max_message_mb: int) -> None:
        """Opens an insecure channel.

        Args:
            target: ``host:port``.
            timeout: deadline in seconds for every call.
            max_message_mb: client send/receive message limit in MiB.
        """
        import grpc  # imported here so REST-only runs work without grpcio

        limit = max_message_mb * 1024 * 1024
        self.target = target
        self.timeout = timeout
        self.channel = grpc.insecure_channel(
            target,
            options=[
                ("grpc.max_send_message_length", limit),
                ("grpc.max_receive_message_length", limit),
                ("grpc.service_config", json.dumps(RETRY_SERVICE_CONFIG)),
                # Own subchannels, so counts() sees this channel's attempts only.
                ("grpc.use_local_subchannel_pool", 1),
            ],
        )
        self._channelz_id = _newest_channel_id(target)
        self._calls = {
            name: self.channel.unary_unary(
                method,
                request_serializer=lambda m: m.SerializeToString(),
                response_deserializer=protos.message(response).FromString,
            )
            for name, method, response in (
                ("Predict", _PREDICT, "tensorflow.serving.PredictResponse"),
                (
                    "GetModelMetadata",
                    _METADATA,
                    "tensorflow.serving.GetModelMetadataResponse",
                ),
                (
                    "GetModelStatus",
                    _STATUS,
                    "tensorflow.serving.GetModelStatusResponse",
                ),
            )
        }

    def _call(self, name: str, request: Any) -> Any:
        import grpc

        try:
            return self._calls[name](request, timeout=self.timeout)
        except grpc.RpcError as err:
            raise GrpcCallError(name, err.code().name, err.details() or "") from err

    def predict(self, request: Any) -> Any:
        """Sends a ``PredictRequest``; returns the ``PredictResponse``."""
        return self._call("Predict", request)

    def get_model_metadata(
        self, model: str, version: int | None = None, label: str | None = None
    ) -> Any:
        """Returns the ``GetModelMetadataResponse`` (signature_def field)."""
        request = protos.message("tensorflow.serving.GetModelMetadataRequest")()
        model_spec(request.model_spec, model, version, label)
        request.metadata_field.append("signature_def")
        return self._call("GetModelMetadata", request)

    def get_model_status(self, model: str, version: int | None = None) -> Any:
        """Returns the ``GetModelStatusResponse`` for all or one version."""
        request = protos.message("tensorflow.serving.GetModelStatusRequest")()
        model_spec(request.model_spec, model, version)
        return self._call("GetModelStatus", request)

    def counts(self) -> ChannelCounts | None:
        """What channelz reports for this channel now (None when it cannot tell)."""
        if self._channelz_id is None:
            return None
        channel = _channelz("channelz_get_channel", self._channelz_id)
        if channel is None:
            return None
        data = channel["channel"]["data"]
        attempts = {}
        for ref in channel["channel"].get("subchannelRef", []):
            sub = _channelz("channelz_get_subchannel", int(ref["subchannelId"]))
            if sub is not None:
                started = sub["subchannel"]["data"].get("callsStarted", 0)
                attempts[int(ref["subchannelId"])] = int(started)
        events = frozenset(
            (e.get("timestamp", ""), e.get("description", ""))
            for e in data.get("trace", {}).get("events", [])
        )
        return ChannelCounts(int(data.get("callsStarted", 0)), attempts, events)

    def close(self) -> None:
        """Closes the channel."""
        self.channel.close()

    def __enter__(self) -> GrpcClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class ChannelCounts:
    """Channelz data of one channel: calls, attempts per subchannel, trace."""

    calls: int
    attempts: dict[int, int]
    events: frozenset[tuple[str, str]]


_LOST = ("Channel state change to TRANSIENT_FAILURE", "Channel state change to IDLE")


def retry_note(before: ChannelCounts | None, after: ChannelCounts | None) -> str:
    """What gRPC retried between two :meth:`GrpcClient.counts`, or "".

    Attempts beyond one per call on the same subchannels are retries after an
    UNAVAILABLE answer. A connection that failed or closed in between may have
    cut off a call that gRPC then retried: its subchannel, and the count of
    attempts on it, are gone, so that is reported as such.
    """
    if before is None or after is None:
        return ""
    calls = after.calls - before.calls
    attempts = sum(n - before.attempts.get(i, 0) for i, n in after.attempts.items())
    notes = []
    if attempts > calls:
        count = attempts - calls
        notes.append(
            f"after {count} {'retry' if count == 1 else 'retries'} on UNAVAILABLE"
        )
    if any(text.startswith(_LOST) for _, text in after.events - before.events):
        notes.append(
            "the gRPC connection failed or closed during this check; gRPC "
            "retried once, without reporting it, any call that this cut off"
        )
    return f" ({'; '.join(notes)})" if notes else ""


def _channelz(function: str, *args: int) -> dict[str, Any] | None:
    """Calls one of grpcio's channelz readers (what grpcio-channelz serves)."""
    try:
        from grpc._cython import cygrpc

        return json.loads(getattr(cygrpc, function)(*args))
    except (ImportError, AttributeError, ValueError, RuntimeError):
        return None


def _newest_channel_id(target: str) -> int | None:
    """The channelz id of the channel to `target` created last in this process."""
    found, start = [], 0
    while True:
        page = _channelz("channelz_get_top_channels", start)
        if page is None:
            return None
        for channel in page.get("channel", []):
            if channel["data"].get("target") in (target, f"dns:///{target}"):
                found.append(int(channel["ref"]["channelId"]))
        ids = [int(c["ref"]["channelId"]) for c in page.get("channel", [])]
        if page.get("end", True) or not ids:
            return max(found, default=None)
        start = max(ids) + 1
