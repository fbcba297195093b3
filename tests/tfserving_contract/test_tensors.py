"""Unit tests for the hand-built TensorProto conversion (no TensorFlow import)."""

import subprocess
import sys

import numpy as np
import pytest

from tfserving_contract import protos, tensors


@pytest.mark.parametrize(
    ("array", "dtype"),
    [
        (np.arange(6, dtype=np.float32).reshape(2, 3) / 7, "DT_FLOAT"),
        (np.array([[1, -2]], dtype=np.int64), "DT_INT64"),
        (np.array([1, 2, 255], dtype=np.uint8), "DT_UINT8"),
        (np.array([0.5, 2.0], dtype=np.float64), "DT_DOUBLE"),
        (np.array([True, False]), "DT_BOOL"),
    ],
)
def test_numeric_arrays_round_trip_through_tensor_content(array, dtype):
    proto = tensors.to_proto(array, dtype)
    assert tensors.dtype_name(proto) == dtype
    assert [d.size for d in proto.tensor_shape.dim] == list(array.shape)
    assert proto.tensor_content
    back = tensors.from_proto(proto)
    np.testing.assert_array_equal(back, array)
    assert back.dtype == array.dtype


def test_strings_use_string_val():
    array = np.array([b"a", b"\x00b"], dtype=object)
    proto = tensors.to_proto(array, "DT_STRING")
    assert list(proto.string_val) == [b"a", b"\x00b"]
    assert list(tensors.from_proto(proto)) == [b"a", b"\x00b"]


def _proto(dtype: str, shape: list[int]):
    proto = protos.message("tensorflow.TensorProto")()
    proto.dtype = protos.enum_value("tensorflow.DataType", dtype)
    for size in shape:
        proto.tensor_shape.dim.add().size = size
    return proto


def test_typed_val_fields_are_read_when_tensor_content_is_empty():
    proto = _proto("DT_FLOAT", [2, 2])
    proto.float_val.extend([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(tensors.from_proto(proto), [[1, 2], [3, 4]])
    ints = _proto("DT_INT32", [3])
    ints.int_val.extend([1, 2, 3])
    assert tensors.from_proto(ints).dtype == np.int32


def test_a_lone_value_fills_the_shape_like_tensorflow():
    proto = _proto("DT_FLOAT", [2, 3])
    proto.float_val.append(1.5)
    np.testing.assert_array_equal(tensors.from_proto(proto), np.full((2, 3), 1.5))


def test_a_wrong_value_count_is_an_error():
    proto = _proto("DT_FLOAT", [3])
    proto.float_val.extend([1.0, 2.0])
    with pytest.raises(tensors.TensorError):
        tensors.from_proto(proto)


def test_requests_parse_with_the_published_tensorflow_serving_protos():
    """Our private-pool messages must be wire-identical to tensorflow_serving.apis."""
    request = protos.message("tensorflow.serving.PredictRequest")()
    request.model_spec.name = "m"
    request.model_spec.signature_name = "serving_default"
    array = np.arange(4, dtype=np.float32).reshape(1, 2, 2)
    request.inputs["x"].CopyFrom(tensors.to_proto(array, "DT_FLOAT"))
    script = (
        "import sys, numpy as np, tensorflow as tf\n"
        "from tensorflow_serving.apis import predict_pb2\n"
        "r = predict_pb2.PredictRequest.FromString(sys.stdin.buffer.read())\n"
        "print(r.model_spec.name, tf.make_ndarray(r.inputs['x']).tolist())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        input=request.SerializeToString(),
        capture_output=True,
        check=True,
        timeout=120,
    )
    assert out.stdout.decode().split("\n")[-2] == f"m {array.tolist()}"


def test_malformed_numeric_proto_declares_more_rows_than_its_content():
    array = np.zeros((1, 2, 2), np.float32)
    proto, what = tensors.malformed_proto(array, "DT_FLOAT")
    assert [d.size for d in proto.tensor_shape.dim] == [2, 2, 2]
    assert len(proto.tensor_content) == array.nbytes
    assert "declared for 1 row" in what
    with pytest.raises(tensors.TensorError):
        tensors.from_proto(proto)


def test_malformed_string_proto_has_a_negative_dimension():
    proto, what = tensors.malformed_proto(np.array([b"a"], dtype=object), "DT_STRING")
    assert proto.tensor_shape.dim[0].size == -1
    assert "negative" in what
