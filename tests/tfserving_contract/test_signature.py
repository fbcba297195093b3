"""Unit tests for signature parsing and comparison."""

import pytest

from smoke_tests import hints
from tests.smoke_tests.helpers import rest_metadata
from tfserving_contract import signature


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("DT_FLOAT", "DT_FLOAT"),
        ("float32", "DT_FLOAT"),
        ("tf.int64", "DT_INT64"),
        ("string", "DT_STRING"),
        ("uint8", "DT_UINT8"),
        ("bool", "DT_BOOL"),
    ],
)
def test_normalize_dtype_accepts_tf_and_numpy_names(given, expected):
    assert signature.normalize_dtype(given) == expected


def test_normalize_dtype_rejects_unknown_names():
    with pytest.raises(signature.SignatureError):
        signature.normalize_dtype("DT_VARIANT")


def test_rest_metadata_is_parsed_into_specs():
    body = rest_metadata(
        {"image": ("DT_FLOAT", [-1, 28, 28, 1])}, {"p": ("DT_FLOAT", [-1, 10])}
    )
    sig = signature.from_rest_metadata(body, "serving_default")
    assert sig.inputs == {"image": signature.TensorSpec("DT_FLOAT", (-1, 28, 28, 1))}
    assert sig.outputs == {"p": signature.TensorSpec("DT_FLOAT", (-1, 10))}


def test_missing_signature_names_the_ones_present_and_gets_a_hint():
    body = rest_metadata({"x": ("DT_FLOAT", [-1])}, {"y": ("DT_FLOAT", [-1])}, "other")
    with pytest.raises(signature.SignatureError) as err:
        signature.from_rest_metadata(body, "serving_default")
    assert "other" in str(err.value)
    assert [h.key for h in hints.find(str(err.value))] == ["signature"]


def test_compare_reports_name_dtype_and_shape_differences():
    served = signature.Signature(
        "s",
        {"image": signature.TensorSpec("DT_FLOAT", (-1, 28, 28, 1))},
        {"p": signature.TensorSpec("DT_FLOAT", (-1, 10))},
    )
    export = signature.Signature(
        "s",
        {"image": signature.TensorSpec("DT_UINT8", (-1, 28, 28))},
        {"scores": signature.TensorSpec("DT_FLOAT", (-1, 10))},
    )
    problems = signature.compare(served, export)
    assert any("dtype: served DT_FLOAT, export DT_UINT8" in p for p in problems)
    assert any("shape" in p for p in problems)
    assert any("outputs names differ" in p for p in problems)
    assert signature.compare(served, served) == []


def test_export_metadata_shapes_accept_none_for_batch():
    sig = signature.from_export_metadata(
        {"inputs": {"x": {"dtype": "float32", "shape": [None, 2]}}, "outputs": {}}
    )
    assert sig.inputs["x"] == signature.TensorSpec("DT_FLOAT", (-1, 2))
    assert signature.from_export_metadata({}) is None


@pytest.mark.parametrize(
    ("spec", "shape", "ok"),
    [
        ((-1, 10), (3, 10), True),
        ((-1, 10), (3, 9), False),
        ((-1, 10), (3, 10, 1), False),
        (None, (1, 2, 3), True),
        ((), (), True),
    ],
)
def test_shape_accepts_checks_rank_and_fixed_dimensions(spec, shape, ok):
    assert signature.shape_accepts(spec, shape) is ok
