"""TF Serving's gRPC services for the stand-in (grpc.aio + published protos).

PredictionService (Predict, GetModelMetadata; Classify/Regress check the
signature then answer UNIMPLEMENTED) and ModelService (GetModelStatus,
HandleReloadConfigRequest), with the same status codes and messages as
prediction_service_impl.cc and model_service_impl.cc.

Typical usage example:

    server = grpc.aio.server(options=[...])
    add_services(server, manager, options, executor)
"""

import asyncio
import logging
import time
from concurrent.futures import Executor

import grpc
import numpy as np
import tensorflow as tf
from tensorflow.core.framework import tensor_pb2
from tensorflow_serving.apis import (
    model_management_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)

from tfserving_standin import metrics
from tfserving_standin.config import ServerOptions
from tfserving_standin.errors import Code, ServingError, grpc_message, grpc_status
from tfserving_standin.manager import ModelManager
from tfserving_standin.responses import metadata_response, status_response
from tfserving_standin.servable import check_classify_regress

logger = logging.getLogger(__name__)

_VAL_FIELDS = {
    np.dtype(np.float32): "float_val",
    np.dtype(np.float64): "double_val",
    np.dtype(np.int32): "int_val",
    np.dtype(np.int16): "int_val",
    np.dtype(np.int8): "int_val",
    np.dtype(np.uint8): "int_val",
    np.dtype(np.uint16): "int_val",
    np.dtype(np.int64): "int64_val",
    np.dtype(np.bool_): "bool_val",
    np.dtype(np.uint32): "uint32_val",
    np.dtype(np.uint64): "uint64_val",
}


def to_tensor_proto(array: np.ndarray, as_content: bool = False):
    """Tensor::AsProtoField (typed *_val fields) or AsProtoTensorContent."""
    array = np.asarray(array)
    if as_content:
        return tf.make_tensor_proto(array)
    proto = tensor_pb2.TensorProto()
    proto.dtype = tf.as_dtype(array.dtype).as_datatype_enum
    for size in array.shape:
        proto.tensor_shape.dim.add(size=size)
    flat = array.reshape(-1)
    field = _VAL_FIELDS.get(array.dtype)
    if field is not None:
        getattr(proto, field).extend(flat.tolist())
    elif array.dtype == object or array.dtype.kind in "SU":
        proto.string_val.extend(
            v.encode("utf-8") if isinstance(v, str) else bytes(v) for v in flat.tolist()
        )
    elif array.dtype == np.float16:
        proto.half_val.extend(flat.view(np.uint16).tolist())
    elif array.dtype == np.complex64:
        proto.scomplex_val.extend(flat.view(np.float32).tolist())
    elif array.dtype == np.complex128:
        proto.dcomplex_val.extend(flat.view(np.float64).tolist())
    else:
        return tf.make_tensor_proto(array)
    return proto


def _model_spec(request) -> tuple[str, int | None, str | None]:
    if not request.HasField("model_spec"):
        raise ServingError(Code.INVALID_ARGUMENT, "Missing ModelSpec")
    spec = request.model_spec
    choice = spec.WhichOneof("version_choice")
    version = spec.version.value if choice == "version" else None
    label = spec.version_label if choice == "version_label" else None
    return spec.name, version, label


class _Base:
    def __init__(
        self, manager: ModelManager, options: ServerOptions, executor: Executor
    ) -> None:
        self.manager = manager
        self.options = options
        self.executor = executor

    async def _call(self, context, fn, *args, record: str | None = None, name=""):
        started = time.perf_counter()
        loop = asyncio.get_running_loop()
        code = Code.OK
        try:
            return await loop.run_in_executor(self.executor, fn, *args)
        except ServingError as exc:
            code = exc.code
            await context.abort(grpc_status(exc.code), grpc_message(exc.message))
        except Exception as exc:  # a stand-in bug must still answer with a status
            logger.exception("Unexpected error in %s", fn.__name__)
            code = Code.INTERNAL
            await context.abort(
                grpc.StatusCode.INTERNAL, f"{type(exc).__name__}: {exc}"
            )
        finally:
            if record is not None:
                if code == Code.OK:
                    micros = int((time.perf_counter() - started) * 1e6)
                    metrics.REGISTRY.record_request_latency(
                        name, record, "GRPC", micros
                    )
                metrics.REGISTRY.record_request(name, code.name)


class PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer, _Base):
    """tensorflow.serving.PredictionService."""

    def _predict(self, request):
        name, version, label = _model_spec(request)
        with self.manager.servable(name, version, label) as servable:
            signature_name, outputs = servable.predict(
                request.model_spec.signature_name,
                dict(request.inputs),
                list(request.output_filter),
            )
            response = predict_pb2.PredictResponse()
            response.model_spec.name = name
            response.model_spec.signature_name = signature_name
            response.model_spec.version.value = servable.version
        as_content = self.options.enable_serialization_as_tensor_content
        for alias, array in outputs.items():
            response.outputs[alias].CopyFrom(to_tensor_proto(array, as_content))
        return response

    async def Predict(self, request, context):  # noqa: N802  (gRPC method name)
        return await self._call(
            context,
            self._predict,
            request,
            record="Predict",
            name=request.model_spec.name,
        )

    def _metadata(self, request):
        name, version, label = _model_spec(request)
        if not request.metadata_field:
            raise ServingError(
                Code.INVALID_ARGUMENT,
                "GetModelMetadataRequest must specify at least one metadata_field",
            )
        for field in request.metadata_field:
            if field != "signature_def":
                raise ServingError(
                    Code.INVALID_ARGUMENT, f"Metadata field {field} is not supported"
                )
        with self.manager.servable(name, version, label) as servable:
            return metadata_response(servable)

    async def GetModelMetadata(self, request, context):  # noqa: N802
        return await self._call(context, self._metadata, request)

    def _classify_regress(self, method: str, request):
        name, version, label = _model_spec(request)
        with self.manager.servable(name, version, label) as servable:
            check_classify_regress(servable, method, request.model_spec.signature_name)
        raise ServingError(
            Code.UNIMPLEMENTED,
            f"The TF Serving stand-in does not run {method} signatures",
        )

    async def Classify(self, request, context):  # noqa: N802
        return await self._call(
            context,
            self._classify_regress,
            "classify",
            request,
            record="Classify",
            name=request.model_spec.name,
        )

    async def Regress(self, request, context):  # noqa: N802
        return await self._call(
            context,
            self._classify_regress,
            "regress",
            request,
            record="Regress",
            name=request.model_spec.name,
        )

    async def MultiInference(self, request, context):  # noqa: N802
        await context.abort(
            grpc.StatusCode.UNIMPLEMENTED,
            "The TF Serving stand-in does not implement MultiInference",
        )


class ModelService(model_service_pb2_grpc.ModelServiceServicer, _Base):
    """tensorflow.serving.ModelService."""

    def _status(self, request):
        if not request.HasField("model_spec"):
            raise ServingError(Code.INVALID_ARGUMENT, "Missing ModelSpec")
        spec = request.model_spec
        version = spec.version.value if spec.HasField("version") else None
        return status_response(self.manager.model_status(spec.name, version))

    async def GetModelStatus(self, request, context):  # noqa: N802
        return await self._call(context, self._status, request)

    def _reload(self, request):
        response = model_management_pb2.ReloadConfigResponse()
        if request.config.WhichOneof("config") != "model_config_list":
            error = ServingError(
                Code.INVALID_ARGUMENT,
                "ServerModelConfig type not supported by HandleReloadConfigRequest. "
                "Only ModelConfigList is currently supported",
            )
        else:
            try:
                self.manager.reload_config(request.config)
                error = None
            except ServingError as exc:
                error = exc
        if error is not None:
            logger.error("ReloadConfig failed: %s", error.message)
            response.status.error_code = int(error.code)
            response.status.error_message = error.message
        return response

    async def HandleReloadConfigRequest(self, request, context):  # noqa: N802
        return await self._call(context, self._reload, request)


def add_services(
    server, manager: ModelManager, options: ServerOptions, executor: Executor
) -> None:
    """Registers PredictionService, ModelService and (optionally) health."""
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
        PredictionService(manager, options, executor), server
    )
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(
        ModelService(manager, options, executor), server
    )
    if options.enable_grpc_healthcheck_service:
        try:
            from grpc_health.v1 import health, health_pb2, health_pb2_grpc
        except ImportError:
            logger.warning(
                "--enable_grpc_healthcheck_service needs the grpcio-health-checking "
                "package, which is not installed; health service not started"
            )
            return
        servicer = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
        serving = health_pb2.HealthCheckResponse.SERVING
        for service in ("", "ModelService", "PredictionService"):
            asyncio.get_event_loop().create_task(servicer.set(service, serving))
