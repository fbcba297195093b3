"""The served model as the gateway sees it: signature, status and Predict over gRPC.

Wraps smoke_tests' TensorFlow-free gRPC client, whose channel retries a call
once when it ends UNAVAILABLE before an answer (RETRY_SERVICE_CONFIG): a call
caught by a TF Serving pod that stops goes to a live pod instead of failing.
The signature is read with GetModelMetadata and reused for METADATA_TTL_S
seconds, so a new model version with another input size is picked up without a
restart.

Typical usage example:

    model = ServingModel(GrpcClient("tfs:8500", 10, 64), "fashion_mnist")
    version, scores = model.predict(model.image_spec(), batch)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from gateway.constants import DEFAULT_SIGNATURE, METADATA_TTL_S
from gateway.preprocess import ImageSpec, UnsupportedModel
from tfserving_contract import protos, signature, tensors
from tfserving_contract.grpc_client import GrpcClient, model_spec


class ServingModel:
    """One model on one TF Serving gRPC endpoint."""

    def __init__(
        self,
        client: GrpcClient,
        model_name: str,
        signature_name: str = DEFAULT_SIGNATURE,
        ttl_s: float = METADATA_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.model_name = model_name
        self.signature_name = signature_name
        self.ttl_s = ttl_s
        self.clock = clock
        self._lock = threading.Lock()
        self._cached: tuple[float, signature.Signature] | None = None

    def signature(self) -> signature.Signature:
        """The served signature (GetModelMetadata), cached for ttl_s seconds.

        Raises:
            GrpcCallError: TF Serving did not answer.
            SignatureError: the signature is not served.
        """
        with self._lock:
            if self._cached and self.clock() - self._cached[0] < self.ttl_s:
                return self._cached[1]
        response = self.client.get_model_metadata(self.model_name)
        if "signature_def" not in response.metadata:
            raise signature.SignatureError("GetModelMetadata returned no signature_def")
        sig_map = protos.message("tensorflow.serving.SignatureDefMap")()
        response.metadata["signature_def"].Unpack(sig_map)
        served = signature.from_signature_def_map(sig_map, self.signature_name)
        with self._lock:
            self._cached = (self.clock(), served)
        return served

    def image_spec(self) -> ImageSpec:
        """What the model's image input expects (see ImageSpec.from_signature)."""
        return ImageSpec.from_signature(self.signature())

    def output_name(self) -> str:
        """The scores output: the only output, or the first with a class axis."""
        outputs = self.signature().outputs
        if len(outputs) == 1:
            return next(iter(outputs))
        for name, spec in sorted(outputs.items()):
            if spec.shape and len(spec.shape) == 2 and spec.dtype == "DT_FLOAT":
                return name
        raise UnsupportedModel(
            f"cannot tell which of the outputs {sorted(outputs)} holds class scores"
        )

    def predict(self, spec: ImageSpec, batch: np.ndarray) -> tuple[int, np.ndarray]:
        """Runs Predict on a batch of one; returns (version, scores of that row)."""
        request = protos.message("tensorflow.serving.PredictRequest")()
        model_spec(
            request.model_spec, self.model_name, signature_name=self.signature_name
        )
        request.inputs[spec.input_name].CopyFrom(tensors.to_proto(batch, spec.dtype))
        output = self.output_name()
        request.output_filter.append(output)
        response = self.client.predict(request)
        scores = tensors.from_proto(response.outputs[output])
        return int(response.model_spec.version.value), np.asarray(scores).reshape(-1)

    def versions(self) -> list[dict[str, Any]]:
        """Every version's state and error message (GetModelStatus)."""
        response = self.client.get_model_status(self.model_name)
        return [
            {
                "version": int(item.version),
                "state": protos.enum_name(
                    "tensorflow.serving.ModelVersionStatus.State", item.state
                ),
                "error": item.status.error_message,
            }
            for item in response.model_version_status
        ]
