"""TensorProto -> numpy with the rules of TensorFlow's Tensor::FromProto.

TF Serving turns each request input (and signature default) into a Tensor with
``Tensor::FromProto`` (tensorflow/cc/saved_model/util.cc GetInputValues, called
from servables/tensorflow/predict_util.cc) and refuses the request when that
returns false. The rules, from tensorflow/core/framework/tensor.cc and
tensor_shape.cc (``TensorShape::IsValid``):

- the shape is invalid with a negative dimension (also -1), more than 254
  dimensions, or an element count that overflows int64; ``unknown_rank`` is
  not refused;
- DT_INVALID (or a dtype TensorFlow does not know) is refused;
- with N = 0 elements the values are ignored;
- ``tensor_content`` must hold exactly N elements;
- a typed ``*_val`` field with more than N values is cut to N, with fewer it is
  padded with its last value, and an empty one gives N default values.

``tf.make_ndarray`` is more lenient (a -1 dimension reshapes strings and
``tensor_content`` silently), so it is not used. The common dtypes are
converted here with numpy; any other dtype goes through TensorFlow's
ParseTensor kernel, which calls Tensor::FromProto itself.
``tests/tfserving_standin/test_tensor_proto.py`` checks both paths against
that kernel.

Typical usage example:

    array = tensor_from_proto(request.inputs["image"])
"""

import numpy as np
from tensorflow.core.framework import types_pb2

MAX_DIMENSIONS = 254
# numpy holds at most 64 dimensions; TensorFlow accepts up to 254, and the
# session would then refuse the rank (see README "Known differences").
NUMPY_MAX_DIMENSIONS = 64
_INT64_MAX = 2**63 - 1

# DataType -> (typed field, numpy dtype of the field, numpy dtype of the tensor)
_FIELDS = {
    types_pb2.DT_FLOAT: ("float_val", np.float32, np.float32),
    types_pb2.DT_DOUBLE: ("double_val", np.float64, np.float64),
    types_pb2.DT_INT32: ("int_val", np.int32, np.int32),
    types_pb2.DT_UINT8: ("int_val", np.int32, np.uint8),
    types_pb2.DT_INT16: ("int_val", np.int32, np.int16),
    types_pb2.DT_INT8: ("int_val", np.int32, np.int8),
    types_pb2.DT_INT64: ("int64_val", np.int64, np.int64),
    types_pb2.DT_BOOL: ("bool_val", np.bool_, np.bool_),
    types_pb2.DT_UINT32: ("uint32_val", np.uint32, np.uint32),
    types_pb2.DT_UINT64: ("uint64_val", np.uint64, np.uint64),
    types_pb2.DT_STRING: ("string_val", object, object),
}


class TensorParseError(ValueError):
    """Tensor::FromProto would return false for this TensorProto."""


def shape_is_valid(shape) -> bool:
    """TensorShape::IsValid(const TensorShapeProto&) (not the partial variant)."""
    if len(shape.dim) > MAX_DIMENSIONS:
        return False
    elements = 1
    for dim in shape.dim:
        if dim.size < 0:
            return False
        elements *= dim.size
        if elements > _INT64_MAX:
            return False
    return True


def _from_typed_field(proto, count: int, spec) -> np.ndarray:
    field, field_dtype, dtype = spec
    values = getattr(proto, field)
    given = len(values)
    if dtype is object:
        items = list(values[:count]) if given else [b""]
        flat = np.empty(count, dtype=object)
        flat[: len(items)] = items
        flat[len(items) :] = items[-1]
        return flat
    if not given:
        return np.zeros(count, dtype=dtype)
    flat = np.array(values[:count], dtype=field_dtype).astype(dtype, copy=False)
    if given < count:
        flat = np.concatenate([flat, np.full(count - given, flat[-1], dtype=dtype)])
    return flat


def _with_tensorflow(proto) -> np.ndarray:
    import tensorflow as tf

    try:
        dtype = tf.dtypes.as_dtype(proto.dtype)
        tensor = tf.io.parse_tensor(proto.SerializeToString(), out_type=dtype)
        return tensor.numpy()
    except (tf.errors.OpError, TypeError, ValueError) as exc:
        raise TensorParseError(str(exc)) from exc


def tensor_from_proto(proto) -> np.ndarray:
    """Converts a TensorProto like Tensor::FromProto.

    Raises:
        TensorParseError: where Tensor::FromProto returns false.
    """
    if not shape_is_valid(proto.tensor_shape):
        raise TensorParseError("invalid tensor shape")
    if proto.dtype == types_pb2.DT_INVALID:
        raise TensorParseError("DT_INVALID")
    if len(proto.tensor_shape.dim) > NUMPY_MAX_DIMENSIONS:
        raise TensorParseError("more dimensions than numpy holds")
    spec = _FIELDS.get(proto.dtype)
    if spec is None or (proto.tensor_content and spec[2] is object):
        return _with_tensorflow(proto)
    shape = [dim.size for dim in proto.tensor_shape.dim]
    count = int(np.prod(shape, dtype=np.int64))
    dtype = spec[2]
    try:
        if count == 0:
            return np.zeros(shape, dtype=dtype)
        if proto.tensor_content:
            if len(proto.tensor_content) != count * np.dtype(dtype).itemsize:
                raise TensorParseError(
                    f"Input size was {len(proto.tensor_content)} and expected "
                    f"{count * np.dtype(dtype).itemsize}"
                )
            return np.frombuffer(proto.tensor_content, dtype=dtype).reshape(shape)
        return _from_typed_field(proto, count, spec).reshape(shape)
    except (MemoryError, ValueError) as exc:  # numpy cannot hold it
        raise TensorParseError(f"cannot build the array: {exc}") from exc
