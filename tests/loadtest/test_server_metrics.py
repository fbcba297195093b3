"""Server-side latency from TF Serving's request_latency histogram (no server)."""

import math

import pytest

from loadtest.metrics import quantile, server_view


def test_quantile_interpolates_inside_the_bucket():
    cumulative = {10.0: 50.0, 20.0: 90.0, 40.0: 100.0, math.inf: 100.0}
    assert quantile(0.5, cumulative) == pytest.approx(10.0)
    assert quantile(0.7, cumulative) == pytest.approx(15.0)
    assert quantile(0.99, cumulative) == pytest.approx(38.0)
    assert quantile(0.5, {}) is None


def test_server_view_is_the_delta_of_two_scrapes_in_milliseconds():
    before = {
        "counts": {"total": 5.0, "predict/OK": 5.0},
        "latency": {
            "le:1000": 5.0,
            "le:2000": 5.0,
            "le:+Inf": 5.0,
            "sum": 2500.0,
            "count": 5.0,
        },
    }
    after = {
        "counts": {"total": 105.0, "predict/OK": 105.0},
        "latency": {
            "le:1000": 55.0,
            "le:2000": 105.0,
            "le:+Inf": 105.0,
            "sum": 152500.0,
            "count": 105.0,
        },
    }
    view = server_view(before, after)
    assert view["request_count_delta"]["total"] == 100.0
    latency = view["latency_ms"]
    assert latency["count"] == 100.0
    assert latency["mean"] == pytest.approx(1.5)
    assert latency["p50"] == pytest.approx(1.0)
    assert latency["p99"] == pytest.approx(1.98)
