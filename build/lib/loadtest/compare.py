"""Compare two runs' summary.json files percentile by percentile.

Typical usage example:

    python -m loadtest compare base/summary.json cand/summary.json --budget-pct 10
"""

from __future__ import annotations

import json
from pathlib import Path

from loadtest import constants

COMPARED = ("p50", "p90", "p95", "p99", "p99.9", "max")
JUDGED = ("p50", "p90", "p95", "p99")


class CompareError(ValueError):
    """A summary file is missing or unusable."""


def load_summary(path: Path) -> dict:
    """Read a summary.json written by ``loadtest run``."""
    if path.is_dir():
        path = path / "summary.json"
    try:
        doc = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise CompareError(
            f"cannot read {path}: {exc}; pass a run's summary.json"
        ) from exc
    if "latency_ms" not in doc:
        raise CompareError(f"{path} is not a loadtest summary (no latency_ms)")
    return doc


def _info_row(metric: str, base: float, cand: float) -> dict:
    return {
        "metric": metric,
        "baseline": base,
        "candidate": cand,
        "delta": cand - base,
        "delta_pct": (cand - base) / base * 100 if base else 0.0,
        "regression": False,
        "judged": False,
    }


def compare(
    base: dict, cand: dict, budget_pct: float, judged: tuple[str, ...] = JUDGED
) -> tuple[list[dict], int]:
    """Per-percentile deltas of corrected latency, plus rate, errors and retries.

    Args:
        base: baseline summary.
        cand: candidate summary.
        budget_pct: allowed increase in % before a row is a regression.
        judged: percentiles that can fail the comparison.

    Returns:
        (rows, exit code): 0 within budget, 1 regression, 3 when either run
        is INVALID (an invalid run cannot be compared).
    """
    rows = []
    regression = False
    for key in COMPARED:
        b = base["latency_ms"]["corrected"][key]
        c = cand["latency_ms"]["corrected"][key]
        pct = (c - b) / b * 100 if b else 0.0
        bad = key in judged and pct > budget_pct
        regression |= bad
        rows.append(
            {
                "metric": f"corrected {key} ms",
                "baseline": b,
                "candidate": c,
                "delta": c - b,
                "delta_pct": pct,
                "regression": bad,
                "judged": key in judged,
            }
        )
    b_err, c_err = base.get("error_rate", 0.0), cand.get("error_rate", 0.0)
    bad = c_err > b_err * (1 + budget_pct / 100) and c_err - b_err > 1e-4
    regression |= bad
    rows.append(
        {
            "metric": "error rate",
            "baseline": b_err,
            "candidate": c_err,
            "delta": c_err - b_err,
            "delta_pct": (c_err - b_err) / b_err * 100 if b_err else 0.0,
            "regression": bad,
            "judged": True,
        }
    )
    rows.append(
        _info_row("ok req/s", base["rate"]["achieved_ok"], cand["rate"]["achieved_ok"])
    )
    rows.append(
        _info_row(
            "retried requests",
            base.get("counts", {}).get("retried", 0),
            cand.get("counts", {}).get("retried", 0),
        )
    )
    if "INVALID" in (base.get("verdict"), cand.get("verdict")):
        return rows, constants.EXIT_INVALID
    return rows, constants.EXIT_SLO_BREACH if regression else constants.EXIT_PASS
