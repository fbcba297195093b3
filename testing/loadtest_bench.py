"""Benchmark this load tester on loopback: against known latency, wrk and ghz.

What each row compares is printed with it:

* Accuracy (targets): ``tfs-load`` open loop, REST and gRPC, against a loopback
  server with a known latency, a fixed delay D, then D plus periodic stalls of S
  every T (wrk2's coordinated-omission demonstration). The corrected p50/p99
  must be within 5% (or 0.2 ms) of the exact percentiles (``true_percentiles``).
  wrk (paced) and ``ghz --async`` against the same servers, as information.
* Throughput (targets): one process, open loop, VALID with dispatch-lag p99 < 2
  ms at 3,000 req/s REST and 5,000 req/s gRPC; closed-loop REST throughput at
  least 0.8x ``wrk -t1 -cC``'s at the same C connections. Each is the median of
  ``--rounds`` runs (closed loop: the median paired ratio of alternated wrk and
  tfs-load runs): this VM's throughput drifts by up to 30% between runs.
* Reference tools (information): wrk closed loop, wrk paced by a Lua
  ``delay()`` (still closed loop) and ``ghz --async --rps`` against ``tfs-load``
  on the same zero-delay server: rate ratio and p50/p99 differences.

Typical usage example:

    python -m loadtest_bench --wrk wrk --ghz bin/ghz --out out/bench
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import re
import subprocess
import sys
from pathlib import Path

from loadtest import constants, go_engine
from loadtest.loopback import LoopbackServer, predict_request_bytes, rest_request_bytes

log = logging.getLogger(__name__)

TARGET_RATES = {"rest": 3000.0, "grpc": 5000.0}
TARGET_LAG_P99_MS = 2.0
TARGET_WRK_RATIO = 0.8
ACCURACY_PCT = 5.0
ACCURACY_ABS_MS = 0.2
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def true_percentiles(
    delay_ms: float,
    stall_ms: float = 0.0,
    period_ms: float = 0.0,
    quantiles: tuple[float, ...] = (0.5, 0.99),
) -> dict[str, float]:
    """Exact latency percentiles (ms) of a constant-rate open loop.

    The server answers after ``delay_ms``; with ``period_ms``, nothing leaves
    it during ``[k*T, k*T + S)`` and a request arriving there waits for the
    window's end first: latency = D + max(0, window_end - arrival). Arrivals
    uniform in phase put a fraction f = S/T in windows, their wait uniform on
    (0, S], so quantile q is D for q <= 1 - f, else D + S*(q - (1 - f))/f.

    Returns:
        ``{"p50": ..., "p99": ...}`` for the default ``quantiles``.
    """
    f = stall_ms / period_ms if period_ms else 0.0
    out = {}
    for q in quantiles:
        extra = stall_ms * (q - (1 - f)) / f if f and q > 1 - f else 0.0
        out[f"p{q * 100:g}"] = delay_ms + extra
    return out


def accuracy_ok(measured: float, truth: float) -> bool:
    """Within ACCURACY_PCT of the truth, or ACCURACY_ABS_MS, whichever is larger."""
    return abs(measured - truth) <= max(truth * ACCURACY_PCT / 100, ACCURACY_ABS_MS)


def stall_connections(rate: float, delay_ms: float, stall_ms: float) -> int:
    """REST pool that holds every request in flight during a stall, with margin.

    HTTP/1.1 carries one request per connection: a stall keeps rate * (S + D)
    requests waiting, and on a smaller pool the rest would queue in the client,
    a different latency from ``true_percentiles``'.
    """
    return math.ceil(rate * (stall_ms + delay_ms) / 1000 * 1.5) + 16


class GoLoopback:
    """``tfs-load-engine loopback``: the known-latency server, in Go.

    Python's loopback server spends more CPU per request than the generators
    it would measure, and its ``asyncio.sleep`` overshoots by up to a
    millisecond; this one waits on a timerfd. Same faults as
    ``LoopbackServer``'s ``delay_ms``/``stall_ms``/``stall_period_ms``.
    """

    def __init__(
        self, delay_ms: float = 0.0, stall_ms: float = 0.0, stall_period_ms: float = 0.0
    ) -> None:
        self.argv = [
            go_engine.binary(),
            "loopback",
            f"--delay-ms={delay_ms}",
            f"--stall-ms={stall_ms}",
            f"--stall-period-ms={stall_period_ms}",
        ]
        self.proc: subprocess.Popen | None = None
        self.ports: dict[str, str] = {}

    @property
    def rest_target(self) -> str:
        return f"http://127.0.0.1:{self.ports['rest']}"

    @property
    def grpc_target(self) -> str:
        return f"127.0.0.1:{self.ports['grpc']}"

    def __enter__(self) -> GoLoopback:
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()  # "rest=N grpc=M" once listening
        self.ports = dict(item.split("=") for item in line.split())
        if set(self.ports) != {"rest", "grpc"}:
            self.proc.kill()
            raise RuntimeError(f"tfs-load-engine loopback did not start: {line!r}")
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


SERVERS = {"go": GoLoopback, "python": LoopbackServer}


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


def run_ours(args: list[str], out: Path, engine: str | None = None) -> dict:
    """Run ``python -m loadtest run`` in a fresh process; return its summary.

    Args:
        args: ``tfs-load run`` arguments after ``--model-name`` and ``--out``.
        out: output directory of the run.
        engine: ``--engine`` to pass, or None for the tool's default.
    """
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
        *(["--engine", engine] if engine is not None else []),
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


def run_lag(summary: dict) -> float:
    """A run's dispatch-lag p99 (ms)."""
    return summary["latency_ms"]["dispatch_lag"]["p99"]


def median_pair(pairs: list[dict]) -> dict:
    """The round whose paired rate ratio is the median (the lower one of two)."""
    ranked = sorted(pairs, key=lambda pair: pair["rate_ratio"])
    return ranked[(len(ranked) - 1) // 2]


def build_parser() -> argparse.ArgumentParser:
    """Arguments of ``python -m loadtest_bench``."""
    parser = argparse.ArgumentParser(
        prog="python -m loadtest_bench",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--wrk", default="wrk", help="wrk binary")
    parser.add_argument("--ghz", default="bin/ghz", help="ghz binary")
    parser.add_argument(
        "--engine",
        choices=("python", "go"),
        default="go",
        help="tfs-load run --engine for every run",
    )
    parser.add_argument(
        "--server",
        choices=sorted(SERVERS),
        default="go",
        help="loopback server: go (tfs-load-engine loopback) or python "
        "(loadtest.loopback, costs more CPU than the generators it measures)",
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per run")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds")
    parser.add_argument(
        "--rate",
        type=float,
        default=1000.0,
        help="fixed rate for the comparisons with wrk and ghz",
    )
    parser.add_argument(
        "--accuracy-rate",
        type=float,
        default=500.0,
        help="open-loop rate of the known-latency runs",
    )
    parser.add_argument(
        "--delay-ms",
        type=float,
        default=50.0,
        help="known fixed server delay D (on this VM one wake-up in a hundred costs "
        "about 1 ms in every client, wrk included: 5%% of 10 ms cannot tell that "
        "from the tool)",
    )
    parser.add_argument(
        "--stall-ms", type=float, default=100.0, help="known periodic stall S"
    )
    parser.add_argument(
        "--stall-period-ms",
        type=float,
        default=1000.0,
        help="stall period T (keep --duration a multiple of it)",
    )
    parser.add_argument(
        "--connections",
        type=int,
        default=16,
        help="REST connections (wrk -c, closed-loop concurrency)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="rounds of each throughput target (closed loop: wrk and tfs-load "
        "alternated); the median round is the result",
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


def accuracy_row(case: str, tool: str, measured: dict, truth: dict) -> dict:
    """Measured p50/p99 of one run (``_ours_row`` or a tool's) against the truth."""
    row = {
        "case": case,
        "tool": tool,
        "rate": measured["rate"],
        "lag_p99": measured.get("lag_p99"),
        "verdict": measured.get("verdict", "-"),
    }
    for key in ("p50", "p99"):
        row[f"true_{key}"] = truth[key]
        row[f"measured_{key}"] = measured[key]
        row[f"{key}_err_ms"] = measured[key] - truth[key]
        row[f"{key}_err_pct"] = _pct(measured[key], truth[key])
        row[f"{key}_ok"] = accuracy_ok(measured[key], truth[key])
    return row


def main(argv: list[str] | None = None) -> int:
    """Run every comparison, print the tables, write bench.json / bench.md."""
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

    def ours(run_args: list[str], name: str) -> dict:
        return run_ours([*run_args, *common], out / name, args.engine)

    rows: list[dict] = []
    accuracy: list[dict] = []
    targets: list[dict] = []
    # 1. Accuracy: open loop against a server with a known latency.
    cases = [
        (f"fixed {args.delay_ms:g} ms", {"delay_ms": args.delay_ms}),
        (
            f"{args.delay_ms:g} ms + {args.stall_ms:g} ms stall every "
            f"{args.stall_period_ms:g} ms",
            {
                "delay_ms": args.delay_ms,
                "stall_ms": args.stall_ms,
                "stall_period_ms": args.stall_period_ms,
            },
        ),
    ]
    rate = args.accuracy_rate
    for index, (case, faults) in enumerate(cases):
        truth = true_percentiles(
            faults["delay_ms"],
            faults.get("stall_ms", 0.0),
            faults.get("stall_period_ms", 0.0),
        )
        # REST carries one request per connection: the pool must hold every
        # request a stall keeps in flight, else the surplus queues in the
        # client and the latency is no longer the one true_percentiles gives.
        rest_conns = stall_connections(
            rate, faults["delay_ms"], faults.get("stall_ms", 0.0)
        )
        with SERVERS[args.server](**faults) as server:
            for protocol, target, conns in (
                ("rest", server.rest_target, rest_conns),
                ("grpc", server.grpc_target, args.grpc_connections),
            ):
                summary = ours(
                    [
                        "--protocol",
                        protocol,
                        "--target",
                        target,
                        "--rate",
                        str(rate),
                        "--connections",
                        str(conns),
                    ],
                    f"accuracy-{protocol}-{index}",
                )
                row = accuracy_row(
                    case,
                    f"tfs-load {protocol} (corrected)",
                    _ours_row(summary, "corrected"),
                    truth,
                )
                accuracy.append(row)
                targets.append(
                    {
                        "target": f"{protocol}: {case} at {rate:g} req/s, "
                        f"corrected p50/p99 within {ACCURACY_PCT:g}% (or "
                        f"{ACCURACY_ABS_MS:g} ms) of truth",
                        "measured": ", ".join(
                            f"{k} {row[f'measured_{k}']:.3f} vs {row[f'true_{k}']:.3f} "
                            f"({row[f'{k}_err_pct']:+.1f}%)"
                            for k in ("p50", "p99")
                        )
                        + f", {row['verdict']}",
                        "pass": row["p50_ok"] and row["p99_ok"],
                    }
                )
            # The reference tools on the same server, as information: wrk is
            # closed loop (paced by a Lua delay), so a stall holds back its
            # sends; ghz --async keeps sending and times from the actual send.
            pace_ms = max(1, round(1000 * 10 / rate - faults["delay_ms"]))
            wrk = run_wrk(
                args.wrk,
                f"{server.rest_target}/v1/models/loopback:predict",
                write_wrk_script(out / "paced-accuracy.lua", body, pace_ms),
                10,
                d,
            )
            accuracy.append(accuracy_row(case, "wrk (paced, closed loop)", wrk, truth))
            ghz = run_ghz(
                args.ghz,
                server.grpc_target,
                protoset,
                grpc_bin,
                rate,
                args.grpc_connections,
                d,
                w,
            )
            accuracy.append(accuracy_row(case, "ghz --async --rps", ghz, truth))
    with SERVERS[args.server]() as server:
        url = f"{server.rest_target}/v1/models/loopback:predict"
        # 2. REST closed loop at equal connections, wrk and ours alternated
        # round by round: this VM's throughput drifts by up to 30% from one
        # run to the next, so each round's pair is compared and the median
        # paired ratio is the result.
        closed_pairs = []
        for index in range(args.rounds):
            wrk_closed = run_wrk(
                args.wrk,
                url,
                write_wrk_script(out / "post.lua", body),
                args.connections,
                d,
            )
            ours_closed = ours(
                [
                    "--protocol",
                    "rest",
                    "--target",
                    server.rest_target,
                    "--closed-loop",
                    "--concurrency",
                    str(args.connections),
                ],
                f"rest-closed-{index}",
            )
            closed_pairs.append(
                compare_row(
                    f"REST closed loop, {args.connections} conns, round {index + 1}",
                    "max throughput; both uncorrected latency",
                    _ours_row(ours_closed, "uncorrected"),
                    wrk_closed,
                )
            )
        rows.extend(closed_pairs)
        ratios = [pair["rate_ratio"] for pair in closed_pairs]
        closed = median_pair(closed_pairs)
        targets.append(
            {
                "target": f"rest: closed-loop throughput >= {TARGET_WRK_RATIO:g}x "
                f"wrk's ({args.connections} conns, median of {len(ratios)} "
                "alternated rounds)",
                "measured": f"{closed['rate_ratio']:.2f}x ({closed['our_rate']:.0f} "
                f"vs {closed['ref_rate']:.0f} req/s; rounds "
                + ", ".join(f"{r:.2f}" for r in ratios)
                + ")",
                "pass": closed["rate_ratio"] >= TARGET_WRK_RATIO,
            }
        )
        # 3. REST at a fixed rate: wrk paced per connection, ours at wrk's rate.
        pace_conns = 10
        delay_ms = max(1, round(1000 * pace_conns / args.rate))
        wrk_paced = run_wrk(
            args.wrk,
            url,
            write_wrk_script(out / "paced.lua", body, delay_ms),
            pace_conns,
            d,
        )
        ours_open = ours(
            [
                "--protocol",
                "rest",
                "--target",
                server.rest_target,
                "--rate",
                f"{wrk_paced['rate']:.1f}",
            ],
            "rest-open",
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
        # 4. gRPC at a fixed rate with ghz --async.
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
        ours_grpc = ours(
            [
                "--protocol",
                "grpc",
                "--target",
                server.grpc_target,
                "--rate",
                str(args.rate),
                "--connections",
                str(args.grpc_connections),
            ],
            "grpc-open",
        )
        conns = f"{args.grpc_connections} conns"
        rows.append(
            compare_row(
                f"gRPC {args.rate:.0f} req/s, {conns} (like for like)",
                "ghz --async --rps vs ours open loop, both timed from the actual "
                "send (ours uncorrected)",
                _ours_row(ours_grpc, "uncorrected"),
                ghz,
            )
        )
        rows.append(
            compare_row(
                f"gRPC {args.rate:.0f} req/s, {conns} (ours corrected)",
                "ghz --async --rps (timed from actual send) vs ours open loop, "
                "corrected",
                _ours_row(ours_grpc, "corrected"),
                ghz,
            )
        )
        # 5. The per-process throughput targets, one process each.
        for protocol, target in (
            ("rest", server.rest_target),
            ("grpc", server.grpc_target),
        ):
            target_rate = TARGET_RATES[protocol]
            extra = (
                ["--connections", str(args.grpc_connections)]
                if protocol == "grpc"
                else []
            )
            runs = [
                ours(
                    [
                        "--protocol",
                        protocol,
                        "--target",
                        target,
                        "--rate",
                        str(target_rate),
                        *extra,
                    ],
                    f"{protocol}-{int(target_rate)}-{index}",
                )
                for index in range(args.rounds)
            ]
            lags = [run_lag(summary) for summary in runs]
            summary = sorted(runs, key=run_lag)[(len(runs) - 1) // 2]
            lag = run_lag(summary)
            targets.append(
                {
                    "target": f"{protocol}: {target_rate:.0f} req/s open loop in 1 "
                    f"process, VALID, dispatch-lag p99 < {TARGET_LAG_P99_MS:g} ms "
                    f"(median of {len(runs)} rounds)",
                    "measured": "achieved "
                    f"{summary['rate']['achieved_send']:.0f} req/s, "
                    f"{summary['verdict']}, lag p99 {lag:.2f} ms; rounds "
                    + ", ".join(f"{value:.2f}" for value in lags),
                    "pass": summary["verdict"] != "INVALID" and lag < TARGET_LAG_P99_MS,
                }
            )
    report = {
        "engine": args.engine,
        "server": args.server,
        "accuracy": accuracy,
        "rows": rows,
        "targets": targets,
        "note": "2-core machine shared by client, server and other work; noisy",
    }
    (out / "bench.json").write_text(json.dumps(report, indent=2) + "\n")
    _print(accuracy, rows, targets, out)
    return constants.EXIT_PASS


def _print(accuracy: list[dict], rows: list[dict], targets: list[dict], out: Path):
    from rich.console import Console
    from rich.table import Table

    console = Console(width=200)
    atable = Table(title="accuracy against a server with known latency (loopback)")
    acols = (
        "case",
        "tool",
        "req/s",
        "true p50",
        "measured p50",
        "p50 err",
        "true p99",
        "measured p99",
        "p99 err",
        "lag p99",
        "verdict",
    )
    for col in acols:
        atable.add_column(col, justify="right")
    md = [
        "| " + " | ".join(acols) + " |",
        "|---|---|" + "---:|" * (len(acols) - 3) + "---|",
    ]
    for r in accuracy:
        cells = [r["case"], r["tool"], f"{r['rate']:.0f}"]
        for key in ("p50", "p99"):
            cells += [
                f"{r[f'true_{key}']:.3f}",
                f"{r[f'measured_{key}']:.3f}",
                f"{r[f'{key}_err_ms']:+.3f} ({r[f'{key}_err_pct']:+.1f}%)",
            ]
        lag = "-" if r["lag_p99"] is None else f"{r['lag_p99']:.3f}"
        cells += [lag, r["verdict"]]
        atable.add_row(*cells)
        md.append("| " + " | ".join(cells) + " |")
    console.print(atable)
    table = Table(title="tfs-load vs reference tools (loopback server, information)")
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
    md += [
        "",
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
