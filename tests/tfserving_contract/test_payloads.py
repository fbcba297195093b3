"""Unit tests for building REST request bodies and parsing responses."""

import base64

import numpy as np
import pytest

from tfserving_contract import payloads
from tfserving_contract.signature import Signature, TensorSpec

FLOAT_SIG = Signature(
    "serving_default",
    {"x": TensorSpec("DT_FLOAT", (-1, 2))},
    {"y": TensorSpec("DT_FLOAT", (-1, 1))},
)


def test_unnamed_instances_take_the_sole_signature_input_and_its_dtype():
    sample = payloads.sample_tensors({"instances": [[1, 2], [3, 4]]}, FLOAT_SIG)
    tensor = sample.tensors["x"]
    assert tensor.dtype == "DT_FLOAT"
    assert tensor.values.dtype == np.float32
    assert tensor.values.shape == (2, 2)
    assert not sample.named and tensor.note == ""


def test_row_and_columnar_bodies_keep_the_sample_values():
    sample = payloads.sample_tensors({"instances": [[1.5, 2.0]]}, FLOAT_SIG)
    assert payloads.row_body(sample, "serving_default") == {
        "signature_name": "serving_default",
        "instances": [[1.5, 2.0]],
    }
    assert payloads.columnar_body(sample, "sig") == {
        "signature_name": "sig",
        "inputs": {"x": [[1.5, 2.0]]},
    }


def test_named_instances_stay_named_in_row_format():
    sig = Signature(
        "s",
        {"a": TensorSpec("DT_INT64", (-1,)), "b": TensorSpec("DT_FLOAT", (-1,))},
        {},
    )
    sample = payloads.sample_tensors(
        {"instances": [{"a": 1, "b": 0.5}, {"a": 2, "b": 1.5}]}, sig
    )
    assert sample.named
    body = payloads.row_body(sample, "s")
    assert body["instances"] == [{"a": 1, "b": 0.5}, {"a": 2, "b": 1.5}]
    assert sample.tensors["a"].values.dtype == np.int64


def test_string_inputs_are_sent_as_b64_objects():
    sig = Signature("s", {"text": TensorSpec("DT_STRING", (-1,))}, {})
    raw = b"\x00\xffbytes"
    encoded = base64.b64encode(raw).decode()
    sample = payloads.sample_tensors({"instances": [{"b64": encoded}, "plain"]}, sig)
    tensor = sample.tensors["text"]
    assert tensor.dtype == "DT_STRING"
    assert list(tensor.values) == [raw, b"plain"]
    body = payloads.row_body(sample, "s")
    assert body["instances"] == [
        {"b64": encoded},
        {"b64": base64.b64encode(b"plain").decode()},
    ]


def test_values_of_the_wrong_type_are_sent_as_they_are_with_a_note():
    sample = payloads.sample_tensors({"instances": [["a", "b"]]}, FLOAT_SIG)
    tensor = sample.tensors["x"]
    assert tensor.dtype == "DT_STRING"
    assert "signature wants DT_FLOAT" in tensor.note


def test_unknown_input_name_is_kept_with_a_note():
    sample = payloads.sample_tensors({"instances": [{"img": [1.0, 2.0]}]}, FLOAT_SIG)
    assert list(sample.tensors) == ["img"]
    assert "not in the served signature" in sample.tensors["img"].note


def test_unnamed_instances_for_a_multi_input_signature_are_rejected():
    sig = Signature(
        "s",
        {"a": TensorSpec("DT_FLOAT", (-1,)), "b": TensorSpec("DT_FLOAT", (-1,))},
        {},
    )
    with pytest.raises(payloads.PayloadError, match="name"):
        payloads.sample_tensors({"instances": [1.0]}, sig)


def test_columnar_sample_is_accepted():
    sample = payloads.sample_tensors({"inputs": {"x": [[1.0, 2.0]]}}, FLOAT_SIG)
    assert sample.named and sample.tensors["x"].values.shape == (1, 2)


def test_single_output_predictions_map_to_the_output_name():
    parsed = payloads.parse_predictions({"predictions": [[0.5], [0.25]]}, ["y"])
    np.testing.assert_array_equal(parsed["y"], [[0.5], [0.25]])


def test_multi_output_predictions_and_outputs_are_split_per_name():
    rows = {"predictions": [{"a": 1, "b": [1.0]}, {"a": 2, "b": [2.0]}]}
    parsed = payloads.parse_predictions(rows, ["a", "b"])
    np.testing.assert_array_equal(parsed["a"], [1, 2])
    np.testing.assert_array_equal(parsed["b"], [[1.0], [2.0]])
    cols = payloads.parse_outputs({"outputs": {"a": [1, 2]}}, ["a", "b"])
    np.testing.assert_array_equal(cols["a"], [1, 2])
    single = payloads.parse_outputs({"outputs": [[0.5]]}, ["y"])
    np.testing.assert_array_equal(single["y"], [[0.5]])


def test_missing_predictions_is_an_error():
    with pytest.raises(payloads.PayloadError):
        payloads.parse_predictions({"error": "x"}, ["y"])


def test_ragged_row_body_gives_the_second_instance_another_rank():
    sample = payloads.sample_tensors({"instances": [[1.0, 2.0], [3.0, 4.0]]}, FLOAT_SIG)
    body = payloads.ragged_row_body(sample, "s")
    assert body["instances"] == [[1.0, 2.0], [[1.0, 2.0]]]
    assert np.shape(body["instances"][0]) != np.shape(body["instances"][1])


def test_ragged_row_body_changes_only_the_first_named_input():
    sig = Signature(
        "s",
        {"a": TensorSpec("DT_FLOAT", (-1,)), "b": TensorSpec("DT_FLOAT", (-1,))},
        {},
    )
    sample = payloads.sample_tensors({"instances": [{"a": 1.0, "b": 2.0}]}, sig)
    body = payloads.ragged_row_body(sample, "s")
    assert body["instances"] == [{"a": 1.0, "b": 2.0}, {"a": [1.0], "b": 2.0}]


def test_first_rows_cuts_every_input():
    sample = payloads.sample_tensors({"instances": [[1.0, 2.0], [3.0, 4.0]]}, FLOAT_SIG)
    assert payloads.first_rows(sample).tensors["x"].values.shape == (1, 2)
