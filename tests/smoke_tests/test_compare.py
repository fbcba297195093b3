"""Unit tests for the golden-output comparison."""

import numpy as np

from smoke_tests import compare


def test_values_within_tolerance_pass():
    golden = {"p": np.array([[0.5, 0.25]], np.float32)}
    actual = {"p": np.array([[0.50001, 0.25]])}
    assert compare.outputs(actual, golden, rtol=1e-4, atol=1e-6) == []


def test_values_outside_tolerance_report_the_worst_element():
    golden = {"p": np.array([[0.5, 0.25]])}
    actual = {"p": np.array([[0.5, 0.35]])}
    (problem,) = compare.outputs(actual, golden, rtol=1e-5, atol=1e-6)
    assert "1/2 values" in problem and "(0, 1)" in problem
    assert abs(compare.max_abs_diff(actual, golden) - 0.1) < 1e-9


def test_shape_and_missing_outputs_are_reported():
    golden = {"p": np.zeros((2, 3)), "q": np.zeros(2)}
    actual = {"p": np.zeros((3, 2))}
    problems = compare.outputs(actual, golden, 1e-5, 1e-6)
    assert any("missing outputs ['q']" in p for p in problems)
    assert any("shape (3, 2)" in p for p in problems)


def test_strings_compare_exactly_across_str_and_bytes():
    golden = {"s": np.array(["cat", "dog"], dtype=object)}
    assert (
        compare.outputs({"s": np.array([b"cat", b"dog"], dtype=object)}, golden, 0, 0)
        == []
    )
    assert compare.outputs(
        {"s": np.array([b"cat", b"cow"], dtype=object)}, golden, 0, 0
    )


def test_nan_equals_nan():
    assert (
        compare.outputs({"x": np.array([np.nan])}, {"x": np.array([np.nan])}, 0, 0)
        == []
    )
