"""Scrape TF Serving's Prometheus endpoint for the server-side request count.

Typical usage example:

    before = scrape_request_count("http://127.0.0.1:8501/monitoring/prometheus/metrics")
"""

from __future__ import annotations

import logging
import re

import requests

from loadtest import constants

log = logging.getLogger(__name__)

_SAMPLE = re.compile(r"^(?P<name>[^\s{]+)(?:\{(?P<labels>[^}]*)\})?\s+(?P<value>\S+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def scrape_request_count(url: str, model_name: str | None = None) -> dict[str, float]:
    """Sum ``:tensorflow:serving:request_count`` by entrypoint/status label.

    Args:
        url: the metrics URL.
        model_name: keep only samples with this ``model_name`` label.

    Returns:
        Mapping ``"<entrypoint>/<status>"`` -> count (``"total"`` included).
    """
    resp = requests.get(url, timeout=10)
    resp.raise_for_status()
    counts: dict[str, float] = {"total": 0.0}
    for line in resp.text.splitlines():
        match = _SAMPLE.match(line)
        if not match or match["name"] != constants.METRIC_REQUEST_COUNT:
            continue
        labels = dict(_LABEL.findall(match["labels"] or ""))
        if model_name and labels.get("model_name", model_name) != model_name:
            continue
        key = f"{labels.get('entrypoint', '?')}/{labels.get('status', '?')}"
        value = float(match["value"])
        counts[key] = counts.get(key, 0.0) + value
        counts["total"] += value
    return counts


def delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """Per-key difference ``after - before``."""
    return {
        k: after.get(k, 0.0) - before.get(k, 0.0)
        for k in sorted(set(before) | set(after))
    }
