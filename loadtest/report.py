"""Turn a merged run into a verdict and report files.

Writes ``summary.json``, ``latency.hgrm``, ``per_second.csv``,
``latency_over_time.png``, ``percentiles.png`` and ``report.md`` into the
output directory and prints a short table to stdout.

Typical usage example:

    summary = build_summary(cfg, merged, limits)
    write_reports(summary, merged, Path("out/run1"))
"""

from __future__ import annotations

import csv
import io
import json
import logging
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from hdrh.histogram import HdrHistogram

from loadtest import constants
from loadtest.engine import RunConfig
from loadtest.recorder import Merged

log = logging.getLogger(__name__)

VERDICT_PASS = "PASS"
VERDICT_BREACH = "SLO_BREACH"
VERDICT_INVALID = "INVALID"

CPU_WARN = 0.8

HIST_LABELS = {
    "corrected": "latency from scheduled send (corrected, successes)",
    "uncorrected": "latency from actual send (uncorrected, successes)",
    "lag": "client lag: actual send - scheduled (incl. wait for a free connection)",
    "dispatch_lag": "dispatch lag: generator start of request - scheduled",
    "all_attempts": "latency from scheduled send, successes and errors",
}


@dataclass(frozen=True)
class Limits:
    """SLO limits (None = not checked) and validity-gate bounds."""

    max_p99_ms: float | None = None
    max_p95_ms: float | None = None
    max_error_rate: float | None = None
    max_lag_p99_ms: float = constants.DEFAULT_MAX_LAG_P99_MS
    min_achieved_ratio: float = constants.MIN_ACHIEVED_RATIO


def describe_mode(cfg: RunConfig) -> str:
    """Human-readable load model, stated in every report."""
    if cfg.closed_loop:
        return (
            f"CLOSED-LOOP, concurrency {cfg.concurrency}: latency is NOT corrected "
            "for coordinated omission; use for max throughput, not for latency SLOs"
        )
    return (
        f"open-loop, {cfg.arrival} arrivals at {cfg.rate:g} req/s; latency timed "
        "from the scheduled send time (coordinated-omission corrected)"
    )


def describe_retry(cfg: RunConfig) -> str:
    """summary.json ``client_retry``: whether the client retries at all."""
    if cfg.retry_connection_errors:
        return constants.CLIENT_RETRY_ONCE
    return constants.CLIENT_RETRY_OFF


def retry_line(summary: dict) -> str:
    """The client-retry mode and, when it is on, the retry counters (even if 0)."""
    mode = summary["client_retry"]
    if mode == constants.CLIENT_RETRY_OFF:
        return f"client retry: {mode} (no request is retried)"
    counts = summary["counts"]
    kinds = ", ".join(
        f"{kind} x{n}" for kind, n in sorted(summary["retried_by_kind"].items())
    )
    return (
        f"client retry: {mode}; retried: {counts['retried']} "
        f"({counts['retried_ok']} ok after retry; first errors: {kinds or 'none'})"
    )


def percentiles_ms(hist: HdrHistogram) -> dict[str, float]:
    """p50..p99.9, max and mean of a microsecond histogram, in ms."""
    out = {
        f"p{p:g}": hist.get_value_at_percentile(p) / 1000 for p in constants.PERCENTILES
    }
    out["max"] = hist.get_max_value() / 1000
    out["mean"] = hist.get_mean_value() / 1000
    out["count"] = hist.get_total_count()
    return out


def _gate(name: str, ok: bool, value: float, limit: float, detail: str) -> dict:
    return {
        "name": name,
        "ok": bool(ok),
        "value": value,
        "limit": limit,
        "detail": detail,
    }


def evaluate_gates(cfg: RunConfig, merged: Merged, limits: Limits) -> list[dict]:
    """Self-check gates; a failure means the generator limited the run."""
    if cfg.closed_loop:
        return []
    scheduled_rate = merged.scheduled / cfg.duration_s
    achieved = (merged.sent - merged.sent_late) / cfg.duration_s
    ratio = achieved / scheduled_rate if scheduled_rate else 0.0
    lag_p99 = merged.hists["dispatch_lag"].get_value_at_percentile(99) / 1000
    return [
        _gate(
            "achieved_rate",
            ratio >= limits.min_achieved_ratio and merged.sent > 0,
            round(ratio, 4),
            limits.min_achieved_ratio,
            f"sent {achieved:.1f} req/s of {scheduled_rate:.1f} scheduled "
            f"({merged.sent_late} sent after the window + lag allowance)",
        ),
        _gate(
            "dispatch_lag_p99_ms",
            lag_p99 <= limits.max_lag_p99_ms,
            lag_p99,
            limits.max_lag_p99_ms,
            "generator's own delay between scheduled and dispatched",
        ),
        _gate(
            "backlog",
            not merged.aborted and merged.max_backlog <= cfg.max_backlog,
            merged.max_backlog,
            cfg.max_backlog,
            "scheduled-but-unsent requests"
            + (f" (run ABORTED: {merged.abort_reason})" if merged.aborted else ""),
        ),
    ]


def evaluate_slos(merged: Merged, limits: Limits) -> list[dict]:
    """SLO checks on corrected latency (successes) and on the error rate."""
    checks = []
    corrected = merged.hists["corrected"]
    has_ok = corrected.get_total_count() > 0
    for name, pct, limit in (
        ("p99_ms", 99.0, limits.max_p99_ms),
        ("p95_ms", 95.0, limits.max_p95_ms),
    ):
        if limit is None:
            continue
        value = (
            corrected.get_value_at_percentile(pct) / 1000 if has_ok else float("inf")
        )
        checks.append(
            {"name": name, "ok": value <= limit, "value": value, "limit": limit}
        )
    if limits.max_error_rate is not None:
        rate = merged.failed / merged.sent if merged.sent else 1.0
        checks.append(
            {
                "name": "error_rate",
                "ok": rate <= limits.max_error_rate,
                "value": rate,
                "limit": limits.max_error_rate,
            }
        )
    return checks


def build_summary(
    cfg: RunConfig,
    merged: Merged,
    limits: Limits,
    server_metrics: dict | None = None,
) -> dict:
    """Assemble the machine-readable summary, verdict and exit code."""
    gates = evaluate_gates(cfg, merged, limits)
    slos = evaluate_slos(merged, limits)
    if any(not g["ok"] for g in gates):
        verdict, code = VERDICT_INVALID, constants.EXIT_INVALID
    elif any(not s["ok"] for s in slos):
        verdict, code = VERDICT_BREACH, constants.EXIT_SLO_BREACH
    else:
        verdict, code = VERDICT_PASS, constants.EXIT_PASS
    duration = cfg.duration_s
    return {
        "tool": "loadtest",
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "mode": describe_mode(cfg),
        "client_retry": describe_retry(cfg),
        "closed_loop": cfg.closed_loop,
        "protocol": cfg.protocol,
        "target": cfg.target,
        "model_name": cfg.model_name,
        "config": {
            "rate": cfg.rate,
            "arrival": cfg.arrival,
            "duration_s": cfg.duration_s,
            "warmup_s": cfg.warmup_s,
            "processes": cfg.processes,
            "connections": cfg.connections,
            "concurrency": cfg.concurrency if cfg.closed_loop else None,
            "deadline_s": cfg.deadline_s,
            "seed": cfg.seed,
            "request_bytes": len(
                cfg.rest_body if cfg.protocol == "rest" else cfg.grpc_request
            ),
        },
        "rate": {
            "target": None if cfg.closed_loop else cfg.rate,
            "scheduled": merged.scheduled / duration,
            "achieved_send": (merged.sent - merged.sent_late) / duration,
            "achieved_ok": merged.ok / duration,
        },
        "counts": {
            "scheduled": merged.scheduled,
            "sent": merged.sent,
            "sent_late": merged.sent_late,
            "ok": merged.ok,
            "errors": merged.failed,
            "retried": merged.retried,
            "retried_ok": merged.retried_ok,
            "warmup_discarded": merged.warmup_requests,
        },
        "error_rate": merged.failed / merged.sent if merged.sent else 0.0,
        "errors_by_kind": merged.errors,
        "retried_by_kind": merged.retried_by_kind,
        "statuses": merged.statuses,
        "latency_ms": {k: percentiles_ms(h) for k, h in merged.hists.items()},
        "latency_labels": HIST_LABELS,
        "histograms": {k: h.encode().decode() for k, h in merged.hists.items()},
        "backlog": {
            "max": merged.max_backlog,
            "bound": cfg.max_backlog,
            "aborted": merged.aborted,
            "abort_reason": merged.abort_reason,
        },
        "generator": {
            "engine": cfg.engine,
            "processes": cfg.processes,
            "cpu_s": merged.cpu_s,
            "wall_s": merged.wall_s,
            "cpu_util_per_process": (
                merged.cpu_s / (merged.wall_s * cfg.processes) if merged.wall_s else 0.0
            ),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
        },
        "server_metrics": server_metrics,
        "gates": gates,
        "slo": slos,
        "verdict": verdict,
        "exit_code": code,
    }


def per_second_rows(merged: Merged) -> list[dict]:
    """Rows for per_second.csv (by scheduled second; ``sent`` by actual send second)."""
    rows = []
    for i, sec in enumerate(merged.seconds):
        hist: HdrHistogram = sec["hist"]
        has = hist.get_total_count() > 0
        rows.append(
            {
                "second": i,
                "scheduled": sec["scheduled"],
                "sent": sec["sent"],
                "ok": sec["ok"],
                "errors": sec["errors"],
                "p50_ms": hist.get_value_at_percentile(50) / 1000 if has else "",
                "p99_ms": hist.get_value_at_percentile(99) / 1000 if has else "",
                "max_ms": hist.get_max_value() / 1000 if has else "",
            }
        )
    return rows


def _fmt(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.3f}" if value < 100 else f"{value:.1f}"


def _ceiling_lines(summary: dict) -> list[str]:
    ceiling = summary["generator"].get("selftest_ceiling_req_s_per_process")
    if not ceiling:
        return []
    return [f"Generator ceiling ~{ceiling:.0f} req/s/process (last selftest).", ""]


def render_markdown(summary: dict) -> str:
    """Markdown report: one table row per latency kind, verdict and gates."""
    lines = [
        f"# Load test: {summary['protocol']} {summary['target']} "
        f"({summary['model_name']})",
        "",
        f"**Verdict: {summary['verdict']}** (exit code {summary['exit_code']})",
        "",
        f"Mode: {summary['mode']}",
        "",
        retry_line(summary),
        "",
        *_ceiling_lines(summary),
        "| target req/s | achieved send req/s | ok | errors | error % |",
        "|---:|---:|---:|---:|---:|",
        "| {} | {:.1f} | {} | {} | {:.3f} |".format(
            "n/a"
            if summary["rate"]["target"] is None
            else f"{summary['rate']['target']:g}",
            summary["rate"]["achieved_send"],
            summary["counts"]["ok"],
            summary["counts"]["errors"],
            100 * summary["error_rate"],
        ),
        "",
        "| latency (ms) | p50 | p90 | p95 | p99 | p99.9 | max | count |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, pct in summary["latency_ms"].items():
        lines.append(
            f"| {name} | "
            + " | ".join(
                _fmt(pct[k]) for k in ("p50", "p90", "p95", "p99", "p99.9", "max")
            )
            + f" | {pct['count']} |"
        )
    lines += ["", "| check | ok | value | limit | detail |", "|---|---|---:|---:|---|"]
    for g in summary["gates"]:
        lines.append(
            f"| gate {g['name']} | {'yes' if g['ok'] else 'NO'} | {g['value']} | "
            f"{g['limit']} | {g['detail']} |"
        )
    for s in summary["slo"]:
        lines.append(
            f"| SLO {s['name']} | {'yes' if s['ok'] else 'NO'} | {s['value']:.4g} | "
            f"{s['limit']} | |"
        )
    if summary["errors_by_kind"]:
        lines += [
            "",
            "Errors by kind: "
            + ", ".join(
                f"`{k}` {v}" for k, v in sorted(summary["errors_by_kind"].items())
            ),
        ]
    server = summary.get("server_metrics")
    if server:
        lines += ["", "Server-side view: `" + json.dumps(server) + "`"]
        lat = server.get("latency_ms")
        if lat:
            client = summary["latency_ms"]["uncorrected"]
            lines += [
                "",
                "| latency (ms) | p50 | p99 | count |",
                "|---|---:|---:|---:|",
                f"| client (uncorrected) | {_fmt(client['p50'])} | "
                f"{_fmt(client['p99'])} | {client['count']} |",
                f"| server (request_latency, incl. warm-up) | {_fmt(lat['p50'])} | "
                f"{_fmt(lat['p99'])} | {lat['count']:.0f} |",
            ]
    lines += [
        "",
        "Latencies are in milliseconds. `corrected` is timed from the scheduled send "
        "time and is the number to use for SLOs; INVALID means the load generator "
        "could not keep the schedule, so the run measured the generator, "
        "not the server.",
        "",
    ]
    return "\n".join(lines)


def _plot(summary: dict, merged: Merged, rows: list[dict], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    secs = [r["second"] for r in rows]

    def series(key: str) -> list[float]:
        return [r[key] if r[key] != "" else float("nan") for r in rows]

    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(10, 7), sharex=True)
    for key in ("p50_ms", "p99_ms", "max_ms"):
        ax1.plot(secs, series(key), marker=".", label=key.replace("_ms", ""))
    ax1.set_ylabel("corrected latency (ms)")
    ax1.set_yscale("log")
    ax1.legend()
    ax1.set_title(
        f"{summary['protocol']} {summary['target']}: {summary['mode'].split(';')[0]} "
        f"- {summary['verdict']}",
        fontsize=9,
    )
    ax2.plot(secs, [r["sent"] for r in rows], label="sent/s")
    ax2.plot(secs, [r["ok"] for r in rows], label="ok/s")
    ax2.plot(secs, [r["errors"] for r in rows], label="errors/s", color="red")
    if summary["rate"]["target"]:
        ax2.axhline(
            summary["rate"]["target"], linestyle="--", color="grey", label="target"
        )
    ax2.set_xlabel("second of measured window")
    ax2.set_ylabel("requests")
    ax2.legend()
    fig.tight_layout()
    fig.savefig(out / "latency_over_time.png", dpi=90)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(10, 5))
    for name in ("corrected", "uncorrected", "lag"):
        hist = merged.hists[name]
        if hist.get_total_count() == 0:
            continue
        xs, ys = [], []
        for item in hist.get_percentile_iterator(5):
            pct = item.percentile_level_iterated_to
            if pct >= 100:
                break
            xs.append(1 / (1 - pct / 100))
            ys.append(item.value_iterated_to / 1000)
        ax.plot(xs, ys, label=name)
    if ax.lines:
        ax.set_xscale("log")
        ax.legend()
    ax.set_xlabel("1/(1-percentile)  (10 = p90, 100 = p99, 1000 = p99.9)")
    ax.set_ylabel("ms")
    ax.set_title("percentile spectrum")
    fig.tight_layout()
    fig.savefig(out / "percentiles.png", dpi=90)
    plt.close(fig)


def write_reports(summary: dict, merged: Merged, out: Path) -> None:
    """Write every report file into ``out`` (created if missing)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    buf = io.BytesIO()
    merged.hists["corrected"].output_percentile_distribution(buf, 1000)
    (out / "latency.hgrm").write_bytes(buf.getvalue())
    rows = per_second_rows(merged)
    with (out / "per_second.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (out / "report.md").write_text(render_markdown(summary))
    _plot(summary, merged, rows, out)


def print_table(summary: dict, console=None) -> None:
    """Print a short rich table plus the verdict (loud when INVALID)."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    table = Table(title=f"{summary['protocol']} -> {summary['target']}")
    for col in ("latency ms", "p50", "p90", "p99", "p99.9", "max", "count"):
        table.add_column(col, justify="right")
    for name in ("corrected", "uncorrected", "lag", "dispatch_lag"):
        pct = summary["latency_ms"][name]
        table.add_row(
            name,
            *(_fmt(pct[k]) for k in ("p50", "p90", "p99", "p99.9", "max")),
            str(pct["count"]),
        )
    console.print(summary["mode"])
    ceiling = summary["generator"].get("selftest_ceiling_req_s_per_process")
    if ceiling:
        console.print(
            f"generator ceiling ~{ceiling:.0f} req/s/process "
            "(last `tfs-load selftest` on this machine)"
        )
    console.print(table)
    rate = summary["rate"]
    console.print(
        f"target {rate['target'] if rate['target'] is not None else 'n/a'} req/s, "
        f"achieved {rate['achieved_send']:.1f} req/s, ok {summary['counts']['ok']}, "
        f"errors {summary['counts']['errors']} {summary['errors_by_kind'] or ''}"
    )
    if summary["client_retry"] != constants.CLIENT_RETRY_OFF:
        console.print(retry_line(summary))
    lat = (summary.get("server_metrics") or {}).get("latency_ms")
    if lat:
        console.print(
            f"server-side (request_latency histogram, incl. warm-up): p50 "
            f"{_fmt(lat['p50'])} ms, p99 {_fmt(lat['p99'])} ms over {lat['count']:.0f} "
            "requests"
        )
    cpu = summary["generator"]["cpu_util_per_process"]
    if cpu > CPU_WARN:
        console.print(
            f"[yellow]warning: generator used {cpu:.0%} of a core per process; "
            "above ~80% its own delays grow (add --processes)[/]"
        )
    for g in summary["gates"]:
        if not g["ok"]:
            console.print(
                f"[bold red]GATE FAILED {g['name']}: {g['value']} (limit {g['limit']}) "
                f"- {g['detail']}[/]"
            )
    for s in summary["slo"]:
        mark = "ok" if s["ok"] else "[bold red]BREACH[/]"
        console.print(f"SLO {s['name']}: {s['value']:.4g} (limit {s['limit']}) {mark}")
    if summary["verdict"] == VERDICT_INVALID:
        console.print(
            "[bold red]INVALID RUN: the load generator could not keep its schedule; "
            "these numbers describe the generator, not the server.[/]"
        )
    else:
        console.print(f"[bold]verdict: {summary['verdict']}[/]")
