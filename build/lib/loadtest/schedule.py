"""Open-loop arrival schedules: constant spacing or seeded Poisson.

Typical usage example:

    offsets_ns = arrivals(rate=500, span_s=35, kind="poisson", seed=1)
"""

from __future__ import annotations

import numpy as np

from loadtest import constants

ARRIVALS = ("constant", "poisson")


def arrivals(
    rate: float,
    span_s: float,
    kind: str = "constant",
    seed: int = 1,
    phase_s: float = 0.0,
) -> np.ndarray:
    """Return the intended send offsets (ns from start) in ``[0, span_s)``.

    Args:
        rate: arrivals per second (> 0).
        span_s: schedule length in seconds (warm-up plus measured window).
        kind: ``constant`` (``t_i = phase + i/rate``) or ``poisson``
            (exponential gaps with mean ``1/rate``).
        seed: RNG seed for Poisson arrivals.
        phase_s: shift of the first constant arrival (spreads P workers).

    Returns:
        Sorted int64 offsets in nanoseconds.

    Raises:
        ValueError: bad rate, span or kind.
    """
    if rate <= 0 or span_s <= 0:
        raise ValueError("rate and span must be positive")
    if kind == "constant":
        times = (
            phase_s + np.arange(int(np.ceil(rate * span_s)), dtype=np.float64) / rate
        )
    elif kind == "poisson":
        rng = np.random.default_rng(seed)
        expected = rate * span_s
        n_draw = int(expected + 10 * np.sqrt(expected) + 100)
        times = np.cumsum(rng.exponential(1.0 / rate, size=n_draw))
    else:
        raise ValueError(f"unknown arrival kind {kind!r}; use one of {ARRIVALS}")
    times = times[times < span_s]
    return (times * 1e9).astype(np.int64)


def backlog_bound(rate: float, seconds: float) -> int:
    """Scheduled-but-unsent requests allowed: ``rate x seconds``, clamped."""
    return min(
        constants.MAX_BACKLOG_REQUESTS,
        max(constants.MIN_BACKLOG_REQUESTS, int(rate * seconds)),
    )
