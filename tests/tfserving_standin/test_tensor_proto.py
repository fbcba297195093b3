"""The TF Serving STAND-IN's TensorProto conversion against TensorFlow's own
Tensor::FromProto (run through the ParseTensor kernel of the installed
TensorFlow), which TF Serving applies to every request input
(tensorflow/cc/saved_model/util.cc GetInputValues)."""

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.framework import tensor_pb2, types_pb2

from tfserving_standin.tensor_proto import TensorParseError, tensor_from_proto

pytestmark = pytest.mark.standin


def _proto(dtype: int, dims: list[int], field: str = "", values=(), content=b""):
    proto = tensor_pb2.TensorProto(dtype=dtype, tensor_content=content)
    for size in dims:
        proto.tensor_shape.dim.add(size=size)
    if field:
        getattr(proto, field).extend(values)
    return proto


def _strings_with_negative_dim():
    proto = tf.make_tensor_proto(np.array([b"a", b"b"], dtype=object))
    proto.tensor_shape.dim[0].size = -1
    return proto


def _content(array: np.ndarray, dims: list[int]):
    proto = tf.make_tensor_proto(array)
    del proto.tensor_shape.dim[:]
    for size in dims:
        proto.tensor_shape.dim.add(size=size)
    return proto


CASES = {
    "float-exact": _proto(types_pb2.DT_FLOAT, [2], "float_val", [1.5, 2.5]),
    "float-padded-with-last": _proto(types_pb2.DT_FLOAT, [4], "float_val", [1, 2]),
    "float-cut-to-shape": _proto(types_pb2.DT_FLOAT, [2], "float_val", [1, 2, 3]),
    "float-no-values-zeros": _proto(types_pb2.DT_FLOAT, [3]),
    "int32-negative-dim": _proto(types_pb2.DT_INT32, [-1], "int_val", [1]),
    "uint8-wraps-int-val": _proto(types_pb2.DT_UINT8, [2], "int_val", [300, -1]),
    "int64": _proto(types_pb2.DT_INT64, [1, 2], "int64_val", [2**40, -3]),
    "bool": _proto(types_pb2.DT_BOOL, [3], "bool_val", [True]),
    "uint64": _proto(types_pb2.DT_UINT64, [1], "uint64_val", [2**64 - 1]),
    "string-exact": _proto(types_pb2.DT_STRING, [2], "string_val", [b"a", b"\0"]),
    "string-padded": _proto(types_pb2.DT_STRING, [3], "string_val", [b"x", b"y"]),
    "string-cut": _proto(types_pb2.DT_STRING, [1], "string_val", [b"x", b"y"]),
    "string-no-values": _proto(types_pb2.DT_STRING, [2]),
    "string-negative-dim": _strings_with_negative_dim(),
    "empty-ignores-values": _proto(types_pb2.DT_FLOAT, [0, 3], "float_val", [1]),
    "scalar": _proto(types_pb2.DT_DOUBLE, [], "double_val", [7.0]),
    "unknown-rank-is-accepted": tensor_pb2.TensorProto(
        dtype=types_pb2.DT_FLOAT, tensor_shape={"unknown_rank": True}
    ),
    "too-many-dims": _proto(types_pb2.DT_FLOAT, [1] * 255, "float_val", [1]),
    "64-dims": _proto(types_pb2.DT_FLOAT, [1] * 64, "float_val", [1]),
    "65-dims": _proto(types_pb2.DT_FLOAT, [1] * 65, "float_val", [1]),
    "element-count-overflow": _proto(types_pb2.DT_FLOAT, [2**40, 2**40]),
    "zero-before-overflow": _proto(types_pb2.DT_FLOAT, [0, 2**40, 2**40]),
    "dt-invalid": _proto(types_pb2.DT_INVALID, [1]),
    "content-exact": _content(np.arange(6, dtype=np.float32), [2, 3]),
    "content-one-row-short": _content(np.arange(6, dtype=np.float32), [3, 3]),
    "content-negative-dim": _content(np.arange(6, dtype=np.float32), [-1, 3]),
    "content-bool": _content(np.array([True, False]), [2]),
    "content-strings": tf.make_tensor_proto(np.array([b"a", b"bc"], dtype=object)),
    "half-through-tensorflow": _proto(types_pb2.DT_HALF, [2], "half_val", [15360]),
}


NUMPY_CANNOT_HOLD = "numpy cannot hold it"


def _tensorflow_from_proto(proto):
    """Tensor::FromProto itself, via the ParseTensor kernel (None = refused)."""
    try:
        dtype = tf.dtypes.as_dtype(proto.dtype)
        tensor = tf.io.parse_tensor(proto.SerializeToString(), out_type=dtype)
    except (tf.errors.InvalidArgumentError, TypeError):
        return None
    try:
        return tensor.numpy()
    except tf.errors.InvalidArgumentError:
        return NUMPY_CANNOT_HOLD


@pytest.mark.parametrize("name", sorted(CASES))
def test_standin_tensor_from_proto_agrees_with_tensorflow(name):
    """Same array, or refused; a tensor numpy cannot hold (a known difference:
    more than 64 dimensions, or zero elements with a nominal size beyond
    numpy's limit) is refused by the stand-in."""
    proto = CASES[name]
    expected = _tensorflow_from_proto(proto)
    if expected is None or isinstance(expected, str):
        with pytest.raises(TensorParseError):
            tensor_from_proto(proto)
        return
    actual = tensor_from_proto(proto)
    assert actual.dtype == expected.dtype
    assert actual.shape == expected.shape
    np.testing.assert_array_equal(actual, expected)


@pytest.mark.parametrize(
    "name",
    [
        "string-negative-dim",
        "int32-negative-dim",
        "content-negative-dim",
        "content-one-row-short",
        "too-many-dims",
        "element-count-overflow",
        "dt-invalid",
    ],
)
def test_standin_tensor_from_proto_refuses_what_tensorflow_refuses(name):
    """Regression: a DT_STRING TensorProto with a -1 dimension was accepted."""
    assert _tensorflow_from_proto(CASES[name]) is None
    with pytest.raises(TensorParseError):
        tensor_from_proto(CASES[name])
