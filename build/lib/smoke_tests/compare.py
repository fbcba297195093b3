"""Compare predicted tensors with golden outputs within a tolerance.

Typical usage example:

    problems = compare.outputs(actual, golden, rtol=1e-5, atol=1e-6)
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _as_bytes_array(array: np.ndarray) -> np.ndarray:
    out = np.empty(array.shape, dtype=object)
    out[...] = (
        [
            v.encode("utf-8") if isinstance(v, str) else bytes(v)
            for v in array.reshape(-1)
        ]
        if array.size
        else []
    )
    return out


def _is_text(array: np.ndarray) -> bool:
    return array.dtype == object or array.dtype.kind in "USa"


def tensor(
    name: str, actual: Any, expected: Any, rtol: float, atol: float
) -> str | None:
    """Compares one tensor; returns a problem description or None when equal.

    Numbers pass when ``|actual - expected| <= atol + rtol * |expected|``
    element-wise (``numpy.isclose``); strings and bytes must be identical.
    """
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    if actual.shape != expected.shape:
        return f"{name}: shape {actual.shape} != expected {expected.shape}"
    if _is_text(actual) or _is_text(expected):
        if not (_is_text(actual) and _is_text(expected)):
            return f"{name}: got {actual.dtype} values, expected {expected.dtype}"
        same = _as_bytes_array(actual) == _as_bytes_array(expected)
        if not np.all(same):
            return f"{name}: {int(np.size(same) - np.sum(same))} strings differ"
        return None
    a = actual.astype(np.float64)
    e = expected.astype(np.float64)
    close = np.isclose(a, e, rtol=rtol, atol=atol, equal_nan=True)
    if np.all(close):
        return None
    diff = np.abs(a - e)
    worst = np.unravel_index(int(np.nanargmax(diff)), diff.shape)
    return (
        f"{name}: {int(close.size - close.sum())}/{close.size} values outside "
        f"rtol={rtol:g} atol={atol:g}; max |diff| {float(diff[worst]):.3g} at "
        f"{tuple(int(i) for i in worst)} ({float(a[worst]):.7g} vs "
        f"{float(e[worst]):.7g})"
    )


def outputs(
    actual: dict[str, Any], expected: dict[str, Any], rtol: float, atol: float
) -> list[str]:
    """Compares every output; returns problem descriptions (empty when equal)."""
    problems: list[str] = []
    missing = sorted(set(expected) - set(actual))
    if missing:
        problems.append(f"missing outputs {missing}; got {sorted(actual)}")
    for name in sorted(set(expected) & set(actual)):
        problem = tensor(name, actual[name], expected[name], rtol, atol)
        if problem:
            problems.append(problem)
    return problems


def max_abs_diff(actual: dict[str, Any], expected: dict[str, Any]) -> float | None:
    """Returns the largest absolute difference over shared numeric outputs."""
    diffs = [
        float(
            np.max(
                np.abs(np.asarray(actual[k], np.float64) - np.asarray(v, np.float64))
            )
        )
        for k, v in expected.items()
        if k in actual
        and not _is_text(np.asarray(v))
        and np.shape(actual[k]) == np.shape(v)
        and np.size(v)
    ]
    return max(diffs) if diffs else None
