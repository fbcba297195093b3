"""``tfs-load capacity`` reports: capacity.json, capacity.md, capacity.png, steps/.

Typical usage example:

    result = build_result(found, search_config, slo, advice)
    write_reports(result, found, Path("out/capacity"))
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from loadtest.capacity import (
    ENDED_AT_EDGE,
    ENDED_AT_MAX,
    ENDED_AT_MIN,
    ENDED_BY_GENERATOR,
    GENERATOR,
    MET,
    Found,
    Step,
)

CAPACITY_FILE = "capacity.json"
ENDINGS = {
    ENDED_AT_EDGE: "the SLO edge was found: capacity = the highest rate that met it",
    ENDED_AT_MAX: "every step met the SLO up to --max-rate: capacity is at least that",
    ENDED_AT_MIN: "no rate down to --min-rate met the SLO",
    ENDED_BY_GENERATOR: "the GENERATOR was the limit, not the target: the rate found "
    "is only a lower bound (use --engine go, add --processes, or run --in-cluster)",
}


def step_row(step: Step) -> dict:
    """The numbers of one step that the table, the plot and capacity.json show."""
    summary = step.summary
    corrected = summary["latency_ms"]["corrected"]
    return {
        "rate": step.rate,
        "phase": step.phase,
        "outcome": step.outcome,
        "verdict": summary["verdict"],
        "achieved_req_s": round(summary["rate"]["achieved_send"], 1),
        "ok": summary["counts"]["ok"],
        "errors": summary["counts"]["errors"],
        "error_rate": summary["error_rate"],
        "p50_ms": corrected["p50"],
        "p99_ms": corrected["p99"],
        "dispatch_lag_p99_ms": summary["latency_ms"]["dispatch_lag"]["p99"],
        "generator_cpu": round(summary["generator"]["cpu_util_per_process"], 3),
        "failed": [g["name"] for g in summary["gates"] + summary["slo"] if not g["ok"]],
    }


def build_result(
    found: Found, search_config: dict, slo: dict, advice: dict | None, base: dict
) -> dict:
    """capacity.json: the answer, how the search ended, every step, the advice.

    Args:
        base: protocol, target and model_name of the target searched.
    """
    at_edge = found.ended_by == ENDED_AT_EDGE
    return {
        "tool": "loadtest capacity",
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **base,
        "slo": slo,
        "search": search_config,
        "ended_by": found.ended_by,
        "ending": ENDINGS[found.ended_by],
        "capacity_req_s": found.best if at_edge and found.best else None,
        "lower_bound_req_s": found.best,
        "lowest_missed_req_s": found.edge,
        "steps": [step_row(step) for step in found.steps],
        "recommendation": advice,
    }


def _fmt_rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:g} req/s"


def render_markdown(result: dict) -> str:
    """capacity.md: the answer first, then the steps and the arithmetic."""
    slo = ", ".join(f"{k} <= {v:g}" for k, v in result["slo"].items() if v is not None)
    answer = result["capacity_req_s"]
    if answer is None:
        answer_line = f"not found; lower bound {_fmt_rate(result['lower_bound_req_s'])}"
    else:
        answer_line = _fmt_rate(answer)
    missed = _fmt_rate(result["lowest_missed_req_s"])
    lines = [
        f"# Capacity of {result['protocol']} {result['target']} "
        f"({result['model_name']})",
        "",
        f"- SLO: {slo}",
        f"- **Capacity: {answer_line}**",
        f"- Lowest rate that missed the SLO: {missed}",
        f"- Ended: {result['ending']}",
        "",
        "| # | phase | rate | achieved | ok | errors | p50 ms | p99 ms | "
        "dispatch-lag p99 ms | generator CPU | outcome | failed |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for i, row in enumerate(result["steps"], 1):
        lines.append(
            f"| {i} | {row['phase']} | {row['rate']:g} | {row['achieved_req_s']:g} | "
            f"{row['ok']} | {row['errors']} | {row['p50_ms']:.2f} | "
            f"{row['p99_ms']:.2f} | "
            f"{row['dispatch_lag_p99_ms']:.2f} | {row['generator_cpu']:.0%} | "
            f"{row['outcome']} | {', '.join(row['failed']) or '-'} |"
        )
    advice = result["recommendation"]
    if advice:
        lines += ["", "## Recommendation", ""]
        lines += [f"- {line}" for line in advice["arithmetic"]]
        lines += [
            "",
            "Chart values:",
            "",
            "```yaml",
            _yaml(advice["values"]),
            "```",
            "",
        ]
        lines += [f"- {caveat}" for caveat in advice["caveats"]]
    return "\n".join(lines) + "\n"


def _yaml(values: dict) -> str:
    import yaml

    return yaml.safe_dump(values, sort_keys=False).rstrip()


def plot(result: dict, out: Path) -> None:
    """capacity.png: corrected p50/p99 against the step rate, SLO and answer marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = sorted(result["steps"], key=lambda r: r["rate"])
    rates = [r["rate"] for r in rows]
    fig, ax = plt.subplots(figsize=(9, 5))
    ax.plot(rates, [r["p50_ms"] for r in rows], marker=".", label="p50 (corrected)")
    ax.plot(rates, [r["p99_ms"] for r in rows], marker=".", label="p99 (corrected)")
    for outcome, marker, colour in (
        (MET, "o", "green"),
        ("missed", "x", "red"),
        (GENERATOR, "s", "orange"),
    ):
        picked = [r for r in rows if r["outcome"] == outcome]
        if picked:
            ax.scatter(
                [r["rate"] for r in picked],
                [r["p99_ms"] for r in picked],
                marker=marker,
                color=colour,
                zorder=3,
                label=f"step {outcome}",
            )
    p99 = result["slo"].get("p99_ms")
    if p99:
        ax.axhline(p99, linestyle="--", color="grey", label=f"SLO p99 {p99:g} ms")
    if result["capacity_req_s"]:
        ax.axvline(
            result["capacity_req_s"],
            linestyle=":",
            color="green",
            label=f"capacity {result['capacity_req_s']:g} req/s",
        )
    ax.set_yscale("log")
    ax.set_xlabel("offered rate (req/s, open loop)")
    ax.set_ylabel("latency from scheduled send (ms)")
    ax.set_title(
        f"{result['protocol']} {result['target']}: latency vs rate", fontsize=9
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "capacity.png", dpi=90)
    plt.close(fig)


def write_reports(result: dict, found: Found, out: Path) -> None:
    """capacity.json, capacity.md, capacity.png, and each step's summary in steps/."""
    steps_dir = out / "steps"
    steps_dir.mkdir(parents=True, exist_ok=True)
    for i, step in enumerate(found.steps, 1):
        name = f"{i:02d}-{step.rate:g}.json"
        (steps_dir / name).write_text(json.dumps(step.summary, indent=2) + "\n")
    (out / CAPACITY_FILE).write_text(json.dumps(result, indent=2) + "\n")
    (out / "capacity.md").write_text(render_markdown(result))
    plot(result, out)
