"""One loaded model version: a TensorFlow session plus its MetaGraphDef.

Like TF Serving's SavedModelBundle, the version is loaded into a real
TensorFlow Session (``tf.compat.v1`` loader) and requests are fed straight to
the signature's tensors, so dtype and shape errors come from the TensorFlow
runtime itself.

Typical usage example:

    servable = Servable("m", 1, "/models/m/1", LoadOptions())
    servable.load()
    with servable.handle():
        signature, outputs = servable.predict("", {"image": array})
"""

import contextlib
import logging
import os
import threading
import time

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import tensor_pb2
from tensorflow.core.protobuf import config_pb2
from tensorflow_serving.apis import prediction_log_pb2

from tfserving_contract import layout
from tfserving_standin import constants, metrics
from tfserving_standin.errors import Code, ServingError, from_tf_error
from tfserving_standin.tensor_proto import TensorParseError, tensor_from_proto

logger = logging.getLogger(__name__)


class LoadOptions:
    """Per-server settings that apply to every loaded version."""

    def __init__(
        self,
        tags: list[str] | None = None,
        session_config: config_pb2.ConfigProto | None = None,
        enable_warmup: bool = True,
        warmup_iterations: int = 1,
        check_method_name: bool = False,
        run_timeout_ms: int = 0,
    ) -> None:
        self.tags = tags or [constants.DEFAULT_SAVED_MODEL_TAGS]
        self.session_config = session_config or config_pb2.ConfigProto()
        self.enable_warmup = enable_warmup
        self.warmup_iterations = max(1, warmup_iterations)
        self.check_method_name = check_method_name
        self.run_timeout_ms = run_timeout_ms


def _set_keys(keys) -> str:
    return ",".join(sorted(keys))


def _tensor_from_proto(alias: str, proto) -> np.ndarray:
    """GetInputValues' Tensor::FromProto for a request input or default."""
    try:
        return tensor_from_proto(proto)
    except TensorParseError as exc:
        raise ServingError(
            Code.INVALID_ARGUMENT, f"tensor parsing error: {alias}"
        ) from exc


class Servable:
    """A model version loaded into its own graph and session."""

    def __init__(self, name: str, version: int, path: str, options: LoadOptions):
        self.name = name
        self.version = version
        self.path = path
        self.options = options
        self.session: tf.compat.v1.Session | None = None
        self.meta_graph = None
        self._callables: dict[tuple, object] = {}
        self._lock = threading.Lock()
        self._refs = 0
        self._idle = threading.Condition(self._lock)

    # -- lifetime ---------------------------------------------------------

    def load(self) -> None:
        """Loads the SavedModel and runs its warmup records.

        Raises:
            ServingError: the SavedModel is missing/corrupt or warmup failed.
        """
        has_pb = os.path.exists(os.path.join(self.path, "saved_model.pb"))
        has_pbtxt = os.path.exists(os.path.join(self.path, "saved_model.pbtxt"))
        if not (has_pb or has_pbtxt):
            raise ServingError(
                Code.NOT_FOUND,
                "Could not find SavedModel .pb or .pbtxt at supplied export "
                f"directory path: {self.path}. Check that the directory exists and "
                "that you have the right permissions for accessing it.",
            )
        started = time.monotonic()
        graph = tf.Graph()
        session = tf.compat.v1.Session(graph=graph, config=self.options.session_config)
        try:
            with graph.as_default():
                self.meta_graph = tf.compat.v1.saved_model.loader.load(
                    session, self.options.tags, self.path
                )
        except tf.errors.OpError as exc:
            session.close()
            metrics.REGISTRY.record_load(self.path, ok=False)
            raise from_tf_error(exc) from exc
        except (OSError, ValueError) as exc:
            session.close()
            metrics.REGISTRY.record_load(self.path, ok=False)
            name = "saved_model.pb" if has_pb else "saved_model.pbtxt"
            raise ServingError(
                Code.DATA_LOSS,
                f"Can't parse {os.path.join(self.path, name)} as "
                f"{'binary' if has_pb else 'text'} proto",
            ) from exc
        except RuntimeError as exc:
            session.close()
            metrics.REGISTRY.record_load(self.path, ok=False)
            raise ServingError(Code.NOT_FOUND, str(exc)) from exc
        self.session = session
        metrics.REGISTRY.record_load(
            self.path, ok=True, micros=int((time.monotonic() - started) * 1e6)
        )
        if self.options.enable_warmup:
            try:
                self.warmup()
            except ServingError:
                self.close()
                raise

    def close(self) -> None:
        """Waits for in-flight requests, then closes the session."""
        with self._idle:
            while self._refs:
                self._idle.wait()
            session, self.session = self.session, None
            self._callables.clear()
        if session is not None:
            session.close()

    @contextlib.contextmanager
    def handle(self):
        """Holds the version open while a request uses it."""
        with self._lock:
            self._refs += 1
        try:
            yield self
        finally:
            with self._idle:
                self._refs -= 1
                if not self._refs:
                    self._idle.notify_all()

    # -- signatures -------------------------------------------------------

    @property
    def signature_defs(self):
        return self.meta_graph.signature_def

    def signature(self, name: str):
        """Returns (resolved name, SignatureDef) or None when absent."""
        resolved = name or constants.DEFAULT_SIGNATURE
        if resolved not in self.signature_defs:
            return resolved, None
        return resolved, self.signature_defs[resolved]

    def input_dtypes(self, signature_name: str) -> dict[str, int]:
        """Input alias -> DataType of a signature, for the REST JSON parser.

        Raises:
            ServingError: INVALID_ARGUMENT when the signature does not exist.
        """
        resolved, signature = self.signature(signature_name)
        if signature is None:
            raise ServingError(
                Code.INVALID_ARGUMENT,
                f'Serving signature name: "{resolved}" not found in signature def',
            )
        return {alias: info.dtype for alias, info in sorted(signature.inputs.items())}

    # -- running ----------------------------------------------------------

    def _callable(self, feeds: tuple, fetches: tuple, timeout_ms: int):
        key = (feeds, fetches, timeout_ms)
        with self._lock:
            fn = self._callables.get(key)
            if fn is None:
                options = config_pb2.CallableOptions(feed=feeds, fetch=fetches)
                if timeout_ms > 0:
                    options.run_options.timeout_in_ms = timeout_ms
                # The public Session.run re-checks shapes and casts dtypes in
                # Python; TF Serving feeds tensors to the C++ session directly.
                fn = self.session._make_callable_from_options(options)
                self._callables[key] = fn
        return fn

    def predict(
        self,
        signature_name: str,
        inputs: dict[str, np.ndarray],
        output_filter: list[str] | tuple = (),
        timeout_ms: int = 0,
    ) -> tuple[str, dict[str, np.ndarray]]:
        """Runs a predict signature like predict_util.cc RunPredict.

        ``inputs`` values are numpy arrays (REST) or TensorProtos (gRPC, warmup),
        which are parsed only after the signature checks, as upstream does.

        Returns:
            (resolved signature name, outputs by alias)

        Raises:
            ServingError: with TF Serving's code and message.
        """
        resolved, signature = self.signature(signature_name)
        if signature is None:
            raise ServingError(
                Code.FAILED_PRECONDITION,
                f'Serving signature key "{resolved}" not found.',
            )
        if self.options.check_method_name and signature.method_name not in (
            constants.PREDICT_METHOD_NAME,
            constants.CLASSIFY_METHOD_NAME,
            constants.REGRESS_METHOD_NAME,
        ):
            raise ServingError(
                Code.INTERNAL,
                "Expected prediction signature method_name to be one of "
                f"{{{constants.PREDICT_METHOD_NAME}, {constants.CLASSIFY_METHOD_NAME}, "
                f"{constants.REGRESS_METHOD_NAME}}}. Was: {signature.method_name}",
            )
        sig_inputs = set(signature.inputs)
        req_inputs = set(inputs)
        if len(req_inputs) > len(sig_inputs) or (
            len(req_inputs) < len(sig_inputs) and not signature.defaults
        ):
            raise ServingError(
                Code.INVALID_ARGUMENT,
                f"input size does not match signature: {len(req_inputs)}!="
                f"{len(sig_inputs)} len({{{_set_keys(req_inputs)}}}) != "
                f"len({{{_set_keys(sig_inputs)}}}). Sent extra: "
                f"{{{_set_keys(req_inputs - sig_inputs)}}}. Missing but required: "
                f"{{{_set_keys(sig_inputs - req_inputs)}}}.",
            )
        feeds, values, seen = [], [], set()
        for alias in sorted(signature.inputs):
            info = signature.inputs[alias]
            if alias in inputs:
                value = inputs[alias]
                seen.add(alias)
                if isinstance(value, tensor_pb2.TensorProto):
                    value = _tensor_from_proto(alias, value)
            elif alias in signature.defaults:
                value = _tensor_from_proto(alias, signature.defaults[alias])
            else:
                raise ServingError(
                    Code.INVALID_ARGUMENT,
                    f"Signature input alias: {alias}(feed name: {info.name}) not "
                    "found in request and no default value provided. Inputs "
                    f"expected to be in the request {{{_set_keys(req_inputs)}}}, or "
                    f"default input alias set: {_set_keys(signature.defaults)}",
                )
            feeds.append(info.name)
            values.append(value)
        if req_inputs and seen != req_inputs:
            raise ServingError(
                Code.INVALID_ARGUMENT,
                "Inputs contains invalid name. Used request inputs: "
                f"{_set_keys(seen)}, request input: {_set_keys(req_inputs)}",
            )
        aliases = list(output_filter)
        seen_outputs: set[str] = set()
        for alias in aliases:
            if alias not in signature.outputs:
                raise ServingError(
                    Code.INVALID_ARGUMENT,
                    f"output tensor alias not found in signature: {alias} Outputs "
                    f"expected to be in the set {{{_set_keys(signature.outputs)}}}.",
                )
            if alias in seen_outputs:
                raise ServingError(
                    Code.INVALID_ARGUMENT, f"duplicate output tensor alias: {alias}"
                )
            seen_outputs.add(alias)
        if not aliases:
            aliases = sorted(signature.outputs)
        fetches = tuple(signature.outputs[a].name for a in aliases)
        if self.session is None:
            raise ServingError(Code.UNAVAILABLE, "Servable is being unloaded")
        fn = self._callable(tuple(feeds), fetches, timeout_ms)
        started = time.perf_counter()
        try:
            results = fn(*values)
        except tf.errors.OpError as exc:
            raise from_tf_error(exc) from exc
        metrics.REGISTRY.record_runtime(
            self.name, "Predict", int((time.perf_counter() - started) * 1e6)
        )
        return resolved, dict(zip(aliases, results, strict=True))

    # -- warmup -----------------------------------------------------------

    def warmup(self) -> None:
        """Replays assets.extra/tf_serving_warmup_requests like TF Serving.

        Raises:
            ServingError: a record could not be read, parsed or run.
        """
        path = os.path.join(self.path, layout.ASSETS_EXTRA, layout.WARMUP_REQUESTS_FILE)
        if not os.path.exists(path):
            logger.info("No warmup data file found at %s", path)
            return
        logger.info(
            "Starting to read warmup data for model at %s with model-warmup-options ",
            path,
        )
        started = time.monotonic()
        count = 0
        status = "OK"
        try:
            for record in tf.compat.v1.io.tf_record_iterator(path):
                log = prediction_log_pb2.PredictionLog()
                try:
                    log.ParseFromString(record)
                except Exception as exc:
                    raise ServingError(
                        Code.INVALID_ARGUMENT,
                        f"Failed to parse warmup record: {record!r} from {path}",
                    ) from exc
                for _ in range(self.options.warmup_iterations):
                    self._run_warmup_record(log)
                count += 1
                if count > constants.MAX_WARMUP_RECORDS:
                    raise ServingError(
                        Code.INVALID_ARGUMENT,
                        "Number of warmup records exceeds the maximum "
                        f"({constants.MAX_WARMUP_RECORDS}) at {path}",
                    )
        except tf.errors.DataLossError as exc:
            status = "DATA_LOSS"
            raise ServingError(
                Code.DATA_LOSS,
                f"{exc.message}. Please verify your warmup data is in TFRecord format.",
            ) from exc
        except ServingError as exc:
            status = exc.code.name
            raise
        finally:
            micros = int((time.monotonic() - started) * 1e6)
            metrics.REGISTRY.record_warmup(self.path, status, micros)
        logger.info(
            "Finished reading warmup data for model at %s. Number of warmup records "
            "read: %d. Elapsed time (microseconds): %d.",
            path,
            count,
            int((time.monotonic() - started) * 1e6),
        )

    def _run_warmup_record(self, log) -> None:
        kind = log.WhichOneof("log_type")
        if kind == "predict_log":
            request = log.predict_log.request
            self.predict(
                request.model_spec.signature_name,
                dict(request.inputs),
                list(request.output_filter),
            )
        elif kind in ("classify_log", "regress_log", "multi_inference_log"):
            raise ServingError(
                Code.UNIMPLEMENTED,
                f"The TF Serving stand-in cannot replay {kind} warmup records",
            )
        elif kind is not None:
            number = log.DESCRIPTOR.fields_by_name[kind].number
            raise ServingError(
                Code.UNIMPLEMENTED, f"Unsupported log_type for warmup: {number}"
            )


def check_classify_regress(servable: Servable, method: str, signature_name: str):
    """Signature checks of GetClassificationSignatureDef / GetRegressionSignatureDef.

    Returns the SignatureDef when it is a usable classify/regress signature.

    Raises:
        ServingError: INVALID_ARGUMENT with TF Serving's message.
    """
    resolved, signature = servable.signature(signature_name)
    if signature is None:
        raise ServingError(
            Code.INVALID_ARGUMENT, f"No signature was found with the name: {resolved}"
        )
    wanted = (
        constants.CLASSIFY_METHOD_NAME
        if method == "classify"
        else constants.REGRESS_METHOD_NAME
    )
    kind = "classification" if method == "classify" else "regression"
    if servable.options.check_method_name and signature.method_name != wanted:
        raise ServingError(
            Code.INVALID_ARGUMENT,
            f"Expected {kind} signature method_name to be {wanted}. "
            f"Was: {signature.method_name}",
        )
    if len(signature.inputs) != 1:
        raise ServingError(Code.INVALID_ARGUMENT, "Expected one input Tensor.")
    if method == "classify" and len(signature.outputs) not in (1, 2):
        raise ServingError(
            Code.INVALID_ARGUMENT,
            f"Expected one or two output Tensors, found {len(signature.outputs)}",
        )
    if method == "regress" and len(signature.outputs) != 1:
        raise ServingError(Code.INVALID_ARGUMENT, "Expected one output Tensor.")
    if "inputs" not in signature.inputs:
        raise ServingError(
            Code.INVALID_ARGUMENT,
            f"No {kind} inputs found in SignatureDef: {signature}",
        )
    if method == "classify" and not (
        "classes" in signature.outputs or "scores" in signature.outputs
    ):
        raise ServingError(
            Code.INVALID_ARGUMENT,
            "Expected classification signature outputs to contain at least one of "
            f'"classes" or "scores". Signature was: {signature}',
        )
    if method == "regress" and "outputs" not in signature.outputs:
        raise ServingError(
            Code.INVALID_ARGUMENT,
            f"No regression outputs found in SignatureDef: {signature}",
        )
    return signature
