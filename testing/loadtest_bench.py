"""Benchmark this load tester against wrk (REST) and ghz (gRPC) on loopback.

Everything runs against the same loopback server process. What is compared is
printed with every row:

* REST, closed loop: ``wrk -t1 -cC`` against ``tfs-load --closed-loop
  --concurrency C`` (same connections, both back-to-back): throughput ratio and
  p50/p99 difference (both uncorrected, as closed loops are).
* REST, fixed rate: wrk paced by a Lua ``delay()`` (about R req/s, still closed
  loop) against ``tfs-load`` open loop at wrk's achieved rate.
* gRPC, fixed rate: ``ghz --async --rps R --connections K`` against ``tfs-load``
  open loop at R over K connections.
* Targets from issue 4: >= 3,000 req/s per process with dispatch-lag p99 < 2 ms
  (one process, each protocol) and p50/p99 within 10% of the reference tool.

Typical usage example:

    python -m loadtest_bench --wrk wrk --ghz bin/ghz --out out/bench
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import subprocess
import sys
from pathlib import Path

from loadtest import constants
from loadtest.loopback import LoopbackServer, predict_request_bytes, rest_request_bytes

log = logging.getLogger(__name__)

TARGET_RATE = 3000.0
TARGET_LAG_P99_MS = 2.0
TARGET_PCT = 10.0
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _parse_duration_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(f"cannot parse wrk duration {text!r}")
    return float(match[1]) * _UNITS[match[2]]


def parse_wrk(output: str) -> dict:
    """Requests/sec and the 50/75/90/99% latencies (ms) from ``wrk --latency``."""
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1])
    pcts = {
        f"p{m[1]}": _parse_duration_ms(m[2])
        for m in re.finditer(r"^\s+(50|75|90|99)%\s+(\S+)", output, re.M)
    }
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    return {"rate": rate, **pcts, "errors": int(non2xx[1]) if non2xx else 0}


def write_wrk_script(path: Path, body: bytes, delay_ms: int = 0) -> Path:
    """A wrk Lua script that POSTs ``body`` and optionally paces each connection."""
    lua_body = body.decode().replace("\\", "\\\\").replace('"', '\\"')
    lines = [
        'wrk.method = "POST"',
        f'wrk.body = "{lua_body}"',
        'wrk.headers["Content-Type"] = "application/json"',
    ]
    if delay_ms:
        lines += ["function delay()", f"  return {delay_ms}", "end"]
    path.write_text("\n".join(lines) + "\n")
    return path


def run_wrk(wrk: str, url: str, script: Path, conns: int, duration_s: float) -> dict:
    """Run wrk once (one thread) and parse it."""
    cmd = [
        wrk,
        "-t1",
        f"-c{conns}",
        f"-d{int(duration_s)}s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    _stderr("+ " + " ".join(cmd))
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return parse_wrk(out)


def write_protoset(path: Path) -> Path:
    """Writes the FileDescriptorSet of PredictionService and its deps for ghz."""
    from tfserving_contract import protos

    path.write_bytes(protos.file_descriptor_set().SerializeToString())
    return path


def run_ghz(
    ghz: str,
    target: str,
    protoset: Path,
    data: Path,
    rate: float,
    conns: int,
    duration_s: float,
    warmup_s: float,
) -> dict:
    """Run ``ghz --async --rps`` and return rate and percentiles (ms)."""
    cmd = [
        ghz,
        "--insecure",
        f"--protoset={protoset}",
        "--call=tensorflow.serving.PredictionService.Predict",
        f"--binary-file={data}",
        "--async",
        f"--rps={int(rate)}",
        f"--connections={conns}",
        "-c",
        "50",
        f"--duration={int(duration_s + warmup_s)}s",
        f"--skipFirst={int(rate * warmup_s)}",
        "--count-errors",
        "-O",
        "json",
        target,
    ]
    _stderr("+ " + " ".join(cmd))
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if not proc.stdout.strip().startswith("{"):
        raise RuntimeError(f"ghz failed ({proc.returncode}): {proc.stderr[-500:]}")
    doc = json.loads(proc.stdout)
    dist = {
        int(d["percentage"]): d["latency"] / 1e6 for d in doc["latencyDistribution"]
    }
    codes = doc.get("statusCodeDistribution", {})
    measured_s = doc["total"] / 1e9 - warmup_s
    return {
        "rate": doc["count"] / measured_s if measured_s > 0 else doc["rps"],
        "p50": dist.get(50),
        "p90": dist.get(90),
        "p99": dist.get(99),
        "errors": sum(v for k, v in codes.items() if k != "OK"),
    }


def run_ours(args: list[str], out: Path) -> dict:
    """Run ``python -m loadtest run`` in a fresh process; return its summary."""
    cmd = [
        sys.executable,
        "-m",
        "loadtest",
        "run",
        "--model-name",
        "loopback",
        "--out",
        str(out),
        *args,
    ]
    _stderr("+ tfs-load " + " ".join(cmd[4:]))
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode not in (0, 1, 3):
        raise RuntimeError(f"tfs-load failed ({proc.returncode}): {proc.stderr[-800:]}")
    return json.loads((out / "summary.json").read_text())


def _ours_row(summary: dict, kind: str) -> dict:
    lat = summary["latency_ms"][kind]
    return {
        "rate": summary["rate"]["achieved_ok"],
        "p50": lat["p50"],
        "p90": lat["p90"],
        "p99": lat["p99"],
        "lag_p99": summary["latency_ms"]["dispatch_lag"]["p99"],
        "verdict": summary["verdict"],
        "errors": summary["counts"]["errors"],
    }


def _pct(ours: float, ref: float) -> float:
    return (ours - ref) / ref * 100 if ref else float("nan")


def compare_row(name: str, compared: str, ours: dict, ref: dict) -> dict:
    """One line of the ratio table."""
    return {
        "case": name,
        "compared": compared,
        "ref_rate": ref["rate"],
        "our_rate": ours["rate"],
        "rate_ratio": ours["rate"] / ref["rate"] if ref["rate"] else float("nan"),
        "ref_p50": ref["p50"],
        "our_p50": ours["p50"],
        "p50_diff_pct": _pct(ours["p50"], ref["p50"]),
        "ref_p99": ref["p99"],
        "our_p99": ours["p99"],
        "p99_diff_pct": _pct(ours["p99"], ref["p99"]),
        "our_lag_p99": ours.get("lag_p99"),
        "our_verdict": ours.get("verdict"),
    }


def build_parser() -> argparse.ArgumentParser:
    """Arguments of ``python -m loadtest_bench``."""
    parser = argparse.ArgumentParser(
        prog="python -m loadtest_bench",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--wrk", default="wrk", help="wrk binary")
    parser.add_argument("--ghz", default="bin/ghz", help="ghz binary")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per run")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds")
    parser.add_argument(
        "--rate",
        type=float,
        default=1000.0,
        help="fixed rate for the percentile comparisons",
    )
    parser.add_argument(
        "--connections",
        type=int,
        default=16,
        help="REST connections (wrk -c, closed-loop concurrency)",
    )
    parser.add_argument(
        "--grpc-connections",
        type=int,
        default=4,
        help="gRPC connections for both tools",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("out/bench"), help="output dir"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run every comparison, print the ratio table, write bench.json / bench.md."""
    args = build_parser().parse_args(argv)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    body = rest_request_bytes()
    request_file = out / "sample_request.json"
    request_file.write_bytes(body)
    (out / "export_metadata.json").write_text(
        json.dumps(
            {"inputs": {"image": {"dtype": "DT_FLOAT", "shape": [-1, 28, 28, 1]}}}
        )
    )
    grpc_bin = out / "predict_request.bin"
    grpc_bin.write_bytes(predict_request_bytes("loopback"))
    protoset = write_protoset(out / "tfserving.protoset")
    d, w = args.duration, args.warmup
    common = ["--duration", str(d), "--warmup", str(w), "--request", str(request_file)]
    rows: list[dict] = []
    targets: list[dict] = []
    with LoopbackServer() as server:
        url = f"{server.rest_target}/v1/models/loopback:predict"
        # 1. REST closed loop at equal connections.
        wrk_closed = run_wrk(
            args.wrk, url, write_wrk_script(out / "post.lua", body), args.connections, d
        )
        ours_closed = run_ours(
            [
                "--protocol",
                "rest",
                "--target",
                server.rest_target,
                "--closed-loop",
                "--concurrency",
                str(args.connections),
                *common,
            ],
            out / "rest-closed",
        )
        rows.append(
            compare_row(
                f"REST closed loop, {args.connections} conns",
                "max throughput; both uncorrected latency",
                _ours_row(ours_closed, "uncorrected"),
                wrk_closed,
            )
        )
        # 2. REST at a fixed rate: wrk paced per connection, ours at wrk's rate.
        pace_conns = 10
        delay_ms = max(1, round(1000 * pace_conns / args.rate))
        wrk_paced = run_wrk(
            args.wrk,
            url,
            write_wrk_script(out / "paced.lua", body, delay_ms),
            pace_conns,
            d,
        )
        ours_open = run_ours(
            [
                "--protocol",
                "rest",
                "--target",
                server.rest_target,
                "--rate",
                f"{wrk_paced['rate']:.1f}",
                *common,
            ],
            out / "rest-open",
        )
        rows.append(
            compare_row(
                f"REST ~{wrk_paced['rate']:.0f} req/s (like for like)",
                "wrk paced by Lua delay (closed loop) vs ours open loop, both "
                "timed from the actual send (ours uncorrected)",
                _ours_row(ours_open, "uncorrected"),
                wrk_paced,
            )
        )
        rows.append(
            compare_row(
                f"REST ~{wrk_paced['rate']:.0f} req/s (ours corrected)",
                "wrk paced by Lua delay (closed loop) vs ours open loop, corrected",
                _ours_row(ours_open, "corrected"),
                wrk_paced,
            )
        )
        # 3. gRPC at a fixed rate with ghz --async.
        ghz = run_ghz(
            args.ghz,
            server.grpc_target,
            protoset,
            grpc_bin,
            args.rate,
            args.grpc_connections,
            d,
            w,
        )
        ours_grpc = run_ours(
            [
                "--protocol",
                "grpc",
                "--target",
                server.grpc_target,
                "--rate",
                str(args.rate),
                "--connections",
                str(args.grpc_connections),
                *common,
            ],
            out / "grpc-open",
        )
        rows.append(
            compare_row(
                f"gRPC {args.rate:.0f} req/s, {args.grpc_connections} conns "
                "(like for like)",
                "ghz --async --rps vs ours open loop, both timed from the actual "
                "send (ours uncorrected)",
                _ours_row(ours_grpc, "uncorrected"),
                ghz,
            )
        )
        rows.append(
            compare_row(
                f"gRPC {args.rate:.0f} req/s, {args.grpc_connections} conns "
                "(ours corrected)",
                "ghz --async --rps (timed from actual send) vs ours open loop, "
                "corrected",
                _ours_row(ours_grpc, "corrected"),
                ghz,
            )
        )
        # 4. The per-process throughput target, each protocol, one process.
        for protocol, target in (
            ("rest", server.rest_target),
            ("grpc", server.grpc_target),
        ):
            extra = (
                ["--connections", str(args.grpc_connections)]
                if protocol == "grpc"
                else []
            )
            summary = run_ours(
                [
                    "--protocol",
                    protocol,
                    "--target",
                    target,
                    "--rate",
                    str(TARGET_RATE),
                    *extra,
                    *common,
                ],
                out / f"{protocol}-{int(TARGET_RATE)}",
            )
            lag = summary["latency_ms"]["dispatch_lag"]["p99"]
            targets.append(
                {
                    "target": f"{protocol}: {TARGET_RATE:.0f} req/s in 1 process, "
                    "VALID, "
                    f"dispatch-lag p99 < {TARGET_LAG_P99_MS:g} ms",
                    "measured": "achieved "
                    f"{summary['rate']['achieved_send']:.0f} req/s, "
                    f"{summary['verdict']}, lag p99 {lag:.2f} ms",
                    "pass": summary["verdict"] != "INVALID" and lag < TARGET_LAG_P99_MS,
                }
            )
    for row in rows:
        if "like for like" not in row["case"]:
            continue
        for key in ("p50", "p99"):
            diff = row[f"{key}_diff_pct"]
            targets.append(
                {
                    "target": f"{row['case']}: {key} within {TARGET_PCT:g}% "
                    "of reference",
                    "measured": f"{diff:+.1f}%",
                    "pass": abs(diff) <= TARGET_PCT,
                }
            )
    report = {
        "rows": rows,
        "targets": targets,
        "note": "2-core machine shared by client, server and other work; noisy",
    }
    (out / "bench.json").write_text(json.dumps(report, indent=2) + "\n")
    _print(rows, targets, out)
    return constants.EXIT_PASS


def _print(rows: list[dict], targets: list[dict], out: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=200)
    table = Table(title="tfs-load vs reference tools (loopback server)")
    for col in (
        "case",
        "ref req/s",
        "our req/s",
        "rate ratio",
        "ref p50",
        "our p50",
        "p50 diff",
        "ref p99",
        "our p99",
        "p99 diff",
        "our lag p99",
        "ours",
    ):
        table.add_column(col, justify="right")
    md = [
        "| case | compared | ref req/s | our req/s | ratio | ref p50 | our p50 | "
        "p50 diff | ref p99 | our p99 | p99 diff | our lag p99 |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        cells = [
            f"{r['ref_rate']:.0f}",
            f"{r['our_rate']:.0f}",
            f"{r['rate_ratio']:.2f}",
            f"{r['ref_p50']:.3f}",
            f"{r['our_p50']:.3f}",
            f"{r['p50_diff_pct']:+.1f}%",
            f"{r['ref_p99']:.3f}",
            f"{r['our_p99']:.3f}",
            f"{r['p99_diff_pct']:+.1f}%",
            f"{r['our_lag_p99']:.3f}",
        ]
        table.add_row(r["case"], *cells, r["our_verdict"])
        md.append(f"| {r['case']} | {r['compared']} | " + " | ".join(cells) + " |")
    console.print(table)
    for r in rows:
        console.print(f"  {r['case']}: {r['compared']}")
    ttable = Table(title="targets (issue 4)")
    for col in ("target", "measured", "result"):
        ttable.add_column(col)
    md += ["", "| target | measured | result |", "|---|---|---|"]
    for t in targets:
        result = "PASS" if t["pass"] else "FAIL"
        ttable.add_row(t["target"], t["measured"], result)
        md.append(f"| {t['target']} | {t['measured']} | {result} |")
    console.print(ttable)
    console.print(
        "latencies in ms; same 2-core machine runs client, server and reference"
    )
    (out / "bench.md").write_text("\n".join(md) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
