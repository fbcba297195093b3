"""Minimal TF Serving gRPC client with deadlines and message-size options.

Uses the published tensorflow-serving-api message definitions through
:mod:`smoke_tests.protos`, so TensorFlow itself is never imported.

Typical usage example:

    with GrpcClient("127.0.0.1:8500", timeout=10, max_message_mb=64) as client:
        status = client.get_model_status("fashion_mnist")
"""

from __future__ import annotations

import logging
from typing import Any

from smoke_tests import protos

logger = logging.getLogger(__name__)

_PREDICT = "/tensorflow.serving.PredictionService/Predict"
_METADATA = "/tensorflow.serving.PredictionService/GetModelMetadata"
_STATUS = "/tensorflow.serving.ModelService/GetModelStatus"


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
            ],
        )
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

    def close(self) -> None:
        """Closes the channel."""
        self.channel.close()

    def __enter__(self) -> GrpcClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
