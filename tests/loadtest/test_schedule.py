"""Arrival schedules: exact constant spacing, plausible seeded Poisson."""

import numpy as np
import pytest

from loadtest.schedule import arrivals, backlog_bound


def test_constant_arrivals_are_evenly_spaced():
    offsets = arrivals(rate=250, span_s=4, kind="constant")
    assert len(offsets) == 1000
    gaps = np.diff(offsets)
    assert gaps.min() >= 3_999_999 and gaps.max() <= 4_000_001


def test_constant_phase_shift_interleaves_workers():
    a = arrivals(rate=50, span_s=1, kind="constant", phase_s=0.0)
    b = arrivals(rate=50, span_s=1, kind="constant", phase_s=0.01)
    assert np.all(b - a == 10_000_000)


def test_poisson_arrivals_have_exponential_gaps():
    rate, span = 2000.0, 20.0
    offsets = arrivals(rate=rate, span_s=span, kind="poisson", seed=7)
    n = len(offsets)
    expected = rate * span
    assert abs(n - expected) < 4 * np.sqrt(expected)
    gaps = np.diff(offsets) / 1e9
    assert gaps.mean() == pytest.approx(1 / rate, rel=0.03)
    cv = gaps.std() / gaps.mean()
    assert cv == pytest.approx(1.0, abs=0.05)
    # Memorylessness: P(gap > mean) = 1/e for an exponential distribution.
    assert (gaps > 1 / rate).mean() == pytest.approx(np.exp(-1), abs=0.02)
    assert offsets.max() < span * 1e9


def test_poisson_is_reproducible_by_seed():
    a = arrivals(rate=100, span_s=5, kind="poisson", seed=3)
    b = arrivals(rate=100, span_s=5, kind="poisson", seed=3)
    c = arrivals(rate=100, span_s=5, kind="poisson", seed=4)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rate": 0, "span_s": 1}, "positive"),
        ({"rate": 1, "span_s": 1, "kind": "x"}, "x"),
    ],
)
def test_bad_schedule_arguments_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        arrivals(**kwargs)


def test_backlog_bound_is_clamped():
    assert backlog_bound(10, 2) == 100
    assert backlog_bound(1000, 2) == 2000
    assert backlog_bound(1e9, 2) == 50_000
