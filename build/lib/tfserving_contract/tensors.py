"""Convert numpy arrays to and from ``tensorflow.TensorProto`` by hand.

Requests carry ``dtype``, ``tensor_shape`` and ``tensor_content`` (raw
little-endian bytes) or ``string_val``; responses may use either
``tensor_content`` or the typed ``*_val`` fields, so both are read.

Typical usage example:

    proto = tensors.to_proto(np.zeros((1, 28, 28, 1), np.float32), "DT_FLOAT")
    array = tensors.from_proto(response.outputs["probabilities"])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tfserving_contract import protos
from tfserving_contract.signature import numpy_dtype

_DATA_TYPE = "tensorflow.DataType"
# Which repeated field holds the values of each dtype when tensor_content is empty.
_VAL_FIELDS = {
    "DT_FLOAT": "float_val",
    "DT_DOUBLE": "double_val",
    "DT_HALF": "half_val",
    "DT_INT8": "int_val",
    "DT_INT16": "int_val",
    "DT_INT32": "int_val",
    "DT_UINT8": "int_val",
    "DT_UINT16": "int_val",
    "DT_INT64": "int64_val",
    "DT_UINT32": "uint32_val",
    "DT_UINT64": "uint64_val",
    "DT_BOOL": "bool_val",
    "DT_STRING": "string_val",
}


class TensorError(ValueError):
    """A TensorProto cannot be converted."""


def to_proto(array: np.ndarray, dtype: str) -> Any:
    """Builds a TensorProto from an array.

    Args:
        array: values; object arrays of bytes for DT_STRING.
        dtype: TF dtype name such as ``DT_FLOAT``.
    """
    proto = protos.message("tensorflow.TensorProto")()
    proto.dtype = protos.enum_value(_DATA_TYPE, dtype)
    for size in array.shape:
        proto.tensor_shape.dim.add().size = int(size)
    if dtype == "DT_STRING":
        proto.string_val.extend(
            v if isinstance(v, bytes) else str(v).encode() for v in array.reshape(-1)
        )
    else:
        little_endian = np.dtype(numpy_dtype(dtype)).newbyteorder("<")
        proto.tensor_content = np.ascontiguousarray(array, little_endian).tobytes()
    return proto


def dtype_name(proto: Any) -> str:
    """Returns the ``DT_*`` name of a TensorProto's dtype."""
    return protos.enum_name(_DATA_TYPE, proto.dtype)


def from_proto(proto: Any) -> np.ndarray:
    """Reads a TensorProto into an array (object array of bytes for DT_STRING).

    Raises:
        TensorError: unsupported dtype or a value count that does not fit the shape.
    """
    dtype = dtype_name(proto)
    if dtype not in _VAL_FIELDS:
        raise TensorError(f"unsupported tensor dtype {dtype}")
    shape = tuple(int(d.size) for d in proto.tensor_shape.dim)
    count = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if proto.tensor_content and dtype != "DT_STRING":
        little_endian = np.dtype(numpy_dtype(dtype)).newbyteorder("<")
        flat = np.frombuffer(proto.tensor_content, dtype=little_endian)
    else:
        values = list(getattr(proto, _VAL_FIELDS[dtype]))
        if dtype == "DT_STRING":
            flat = np.empty(len(values), dtype=object)
            flat[:] = values
        elif dtype == "DT_HALF":
            flat = np.asarray(values, dtype=np.uint16).view(np.float16)
        else:
            flat = np.asarray(values, dtype=numpy_dtype(dtype))
    if flat.size == 1 and count > 1:
        flat = np.repeat(flat, count)  # TF fills the tensor with a lone value
    if flat.size != count:
        raise TensorError(f"{flat.size} values do not fit shape {shape} ({dtype})")
    return flat.reshape(shape).astype(flat.dtype.newbyteorder("="))


def malformed_proto(array: np.ndarray, dtype: str) -> tuple[Any, str]:
    """Builds a TensorProto the server cannot parse, and describes it.

    Numeric tensors declare one row more than ``tensor_content`` holds. String
    tensors get a negative dimension instead, because TensorFlow pads a short
    ``string_val`` with its last value, so a count mismatch would be accepted.
    Either way the server fails while parsing (INVALID_ARGUMENT) and never runs
    the model.
    """
    proto = to_proto(array, dtype)
    if not proto.tensor_shape.dim:
        proto.tensor_shape.dim.add().size = 1
    if dtype == "DT_STRING":
        proto.tensor_shape.dim[0].size = -1
        shape = [d.size for d in proto.tensor_shape.dim]
        return proto, f"shape {shape} with a negative dimension"
    rows = proto.tensor_shape.dim[0].size
    proto.tensor_shape.dim[0].size = rows + 1
    shape = [d.size for d in proto.tensor_shape.dim]
    return proto, f"shape {shape} declared for {rows} row(s) of values"
