"""Builds and reads TF Serving warmup records (assets.extra/tf_serving_warmup_requests).

Typical usage example:

    write_warmup_records(path, "fashion_mnist", spec, {"image": images}, count=10)
    logs = read_warmup_records(path)
"""

from pathlib import Path

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import types_pb2
from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

from model_export import constants
from model_export.errors import ExportError


def check_warmup_count(count: int) -> None:
    """Raises ExportError unless 0 < count <= MAX_WARMUP_RECORDS."""
    if count < 1 or count > constants.MAX_WARMUP_RECORDS:
        raise ExportError(
            f"--warmup-records {count} is out of range; TF Serving reads at most "
            f"{constants.MAX_WARMUP_RECORDS} records, pass a value from 1 to "
            f"{constants.MAX_WARMUP_RECORDS}"
        )


def _check_input(name: str, array: np.ndarray, spec: dict[str, object]) -> None:
    expected = tf.dtypes.as_dtype(types_pb2.DataType.Value(spec["dtype"]))
    actual = tf.dtypes.as_dtype(array.dtype) if array.dtype != object else tf.string
    if actual != expected:
        raise ExportError(
            f"sample input {name!r} has dtype {actual.name} but the signature "
            f"expects {expected.name}; cast the sample to {expected.name}"
        )
    shape = spec["shape"]
    if shape is not None:
        ok = len(shape) == array.ndim and all(
            want in (-1, got) for want, got in zip(shape, array.shape, strict=True)
        )
        if not ok:
            raise ExportError(
                f"sample input {name!r} has shape {list(array.shape)} but the "
                f"signature expects {shape}; reshape the sample"
            )


def build_warmup_logs(
    model_name: str,
    inputs_spec: dict[str, dict[str, object]],
    sample_inputs: dict[str, np.ndarray],
    count: int,
    signature_name: str = constants.SIGNATURE_NAME,
) -> list[prediction_log_pb2.PredictionLog]:
    """Builds `count` single-row PredictLog records cycling through the sample rows.

    Args:
        model_name: Model name put in each request's model_spec.
        inputs_spec: Signature inputs, key -> {"dtype", "shape"}.
        sample_inputs: key -> batch array; every signature input must be present.
        count: Number of records (1..MAX_WARMUP_RECORDS).
        signature_name: Signature each request targets.

    Returns:
        The records.

    Raises:
        ExportError: If count is out of range or the sample does not match.
    """
    check_warmup_count(count)
    missing = sorted(set(inputs_spec) - set(sample_inputs))
    if missing:
        raise ExportError(f"sample inputs lack signature inputs {missing}")
    for name, spec in inputs_spec.items():
        _check_input(name, sample_inputs[name], spec)
    rows = len(next(iter(sample_inputs.values())))
    logs = []
    for i in range(count):
        request = predict_pb2.PredictRequest(
            model_spec=model_pb2.ModelSpec(
                name=model_name, signature_name=signature_name
            )
        )
        for name in inputs_spec:
            row = sample_inputs[name][i % rows : i % rows + 1]
            request.inputs[name].CopyFrom(tf.make_tensor_proto(row))
        logs.append(
            prediction_log_pb2.PredictionLog(
                predict_log=prediction_log_pb2.PredictLog(request=request)
            )
        )
    return logs


def write_warmup_records(
    path: Path, logs: list[prediction_log_pb2.PredictionLog]
) -> None:
    """Writes PredictionLog records as a TFRecord file."""
    with tf.io.TFRecordWriter(str(path)) as writer:
        for log in logs:
            writer.write(log.SerializeToString())


def read_warmup_records(path: Path) -> list[prediction_log_pb2.PredictionLog]:
    """Reads a warmup TFRecord file back into PredictionLog messages."""
    logs = []
    for record in tf.data.TFRecordDataset(str(path)):
        log = prediction_log_pb2.PredictionLog()
        log.ParseFromString(record.numpy())
        logs.append(log)
    return logs
