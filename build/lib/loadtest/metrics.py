"""Scrape TF Serving's Prometheus endpoint: request counts and the latency histogram.

Typical usage example:

    before = scrape(url, "fashion_mnist")
    ...run...
    view = server_view(before, scrape(url, "fashion_mnist"))
"""

from __future__ import annotations

import logging
import re

import requests

from loadtest import constants

log = logging.getLogger(__name__)

_SAMPLE = re.compile(r"^(?P<name>[^\s{]+)(?:\{(?P<labels>[^}]*)\})?\s+(?P<value>\S+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def _samples(text: str, prefix: str, model_name: str | None):
    """(name, labels, value) of every sample whose name starts with `prefix`."""
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if not match or not match["name"].startswith(prefix):
            continue
        labels = dict(_LABEL.findall(match["labels"] or ""))
        if model_name and labels.get("model_name", model_name) != model_name:
            continue
        yield match["name"], labels, float(match["value"])


def _fetch(url: str) -> str:
    resp = requests.get(url, timeout=10)
    resp.raise_for_status()
    return resp.text


def request_counts(text: str, model_name: str | None = None) -> dict[str, float]:
    """Sum ``:tensorflow:serving:request_count`` by entrypoint/status label.

    Returns:
        Mapping ``"<entrypoint>/<status>"`` -> count (``"total"`` included).
    """
    counts: dict[str, float] = {"total": 0.0}
    metric = constants.METRIC_REQUEST_COUNT
    for name, labels, value in _samples(text, metric, model_name):
        if name != metric:
            continue
        key = f"{labels.get('entrypoint', '?')}/{labels.get('status', '?')}"
        counts[key] = counts.get(key, 0.0) + value
        counts["total"] += value
    return counts


def latency_histogram(text: str, model_name: str | None = None) -> dict[str, float]:
    """``:tensorflow:serving:request_latency`` summed over labels.

    Returns:
        ``{"le:<bound>": cumulative count, ..., "sum": us, "count": n}``.
    """
    base = constants.METRIC_REQUEST_LATENCY
    found: dict[str, float] = {"sum": 0.0, "count": 0.0}
    for name, labels, value in _samples(text, base, model_name):
        suffix = name[len(base) :]
        key = {"_sum": "sum", "_count": "count"}.get(suffix)
        if suffix == "_bucket":
            key = f"le:{labels.get('le', '+Inf')}"
        if key:
            found[key] = found.get(key, 0.0) + value
    return found


def scrape_request_count(url: str, model_name: str | None = None) -> dict[str, float]:
    """request_counts() of one scrape of the metrics URL."""
    return request_counts(_fetch(url), model_name)


def scrape(url: str, model_name: str | None = None) -> dict[str, dict[str, float]]:
    """Counts and the latency histogram from one scrape of the metrics URL."""
    text = _fetch(url)
    return {
        "counts": request_counts(text, model_name),
        "latency": latency_histogram(text, model_name),
    }


def delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """Per-key difference ``after - before``."""
    return {
        k: after.get(k, 0.0) - before.get(k, 0.0)
        for k in sorted(set(before) | set(after))
    }


def quantile(q: float, cumulative: dict[float, float]) -> float | None:
    """histogram_quantile over cumulative buckets (linear inside a bucket)."""
    bounds = sorted(cumulative)
    if not bounds or cumulative[bounds[-1]] <= 0:
        return None
    rank = q * cumulative[bounds[-1]]
    lower, below = 0.0, 0.0
    for bound in bounds:
        count = cumulative[bound]
        if count >= rank:
            if bound == float("inf"):
                return lower
            inside = count - below
            return lower + (bound - lower) * (
                (rank - below) / inside if inside else 1.0
            )
        lower, below = bound, count
    return lower


def server_view(before: dict, after: dict) -> dict[str, object]:
    """What the server saw during the run: request counts and latency (ms)."""
    counts = delta(before["counts"], after["counts"])
    lat = delta(before["latency"], after["latency"])
    buckets = {
        float(k.split(":", 1)[1]): v for k, v in lat.items() if k.startswith("le:")
    }
    view: dict[str, object] = {"request_count_delta": counts}
    if lat.get("count", 0) > 0:
        p50, p99 = quantile(0.5, buckets), quantile(0.99, buckets)
        view["latency_ms"] = {
            "count": lat["count"],
            "mean": lat["sum"] / lat["count"] / 1000.0,
            "p50": None if p50 is None else p50 / 1000.0,
            "p99": None if p99 is None else p99 / 1000.0,
            "note": "successful requests only, from histogram buckets",
        }
    return view
