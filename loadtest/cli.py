"""Command line for the load tester: run, compare, selftest.

Exit codes: 0 pass, 1 SLO breach (or regression in ``compare``), 2 usage or
setup error, 3 INVALID run (the generator could not keep its schedule).

Typical usage example:

    tfs-load run --protocol grpc --target 127.0.0.1:8500 --model-name fashion_mnist \
        --model-base-path models/fashion_mnist --rate 500 --duration 60 --max-p99-ms 50
    tfs-load compare out/base/summary.json out/cand/summary.json --budget-pct 10
    tfs-load selftest
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from loadtest import constants
from loadtest.compare import CompareError, compare, load_summary
from loadtest.job import DEFAULT_REQUESTS
from loadtest.payload import (
    Payload,
    PayloadError,
    exported_model_name,
    find_sample_request,
    grpc_request_bytes,
    payload_from_metadata,
    payload_from_request_file,
)
from loadtest.schedule import ARRIVALS, backlog_bound
from tfserving_contract import options
from tfserving_contract.quantity import request_quantity

if TYPE_CHECKING:
    from loadtest.engine import RunConfig
    from loadtest.report import Limits

log = logging.getLogger(__name__)


def _add_target_args(p: argparse.ArgumentParser) -> None:
    """Where the load goes and what it sends."""
    p.add_argument(
        "--protocol", choices=("rest", "grpc"), default="rest", help="wire protocol"
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--target",
        help="REST base URL (default "
        f"{constants.DEFAULT_REST_TARGET}) or gRPC host:port "
        f"(default {constants.DEFAULT_GRPC_TARGET}), per --protocol",
    )
    options.add_rest_url(where, help="REST base URL: --protocol rest --target URL")
    options.add_grpc_target(
        where, help="gRPC host:port: --protocol grpc --target HOST:PORT"
    )
    options.add_model_name(
        p,
        help="served model (default: model_name of the export_metadata.json "
        "beside the request)",
    )
    src = p.add_mutually_exclusive_group()
    src.add_argument("--request", type=Path, help="sample_request.json to send")
    options.add_model_base_path(
        src,
        help="exported model base path; uses the newest version's sample_request.json",
    )
    p.add_argument(
        "--metadata-target",
        help="REST base URL to read model metadata from when neither --request nor "
        "--model-base-path is given (default: --target for REST)",
    )
    p.add_argument(
        "--input-name",
        help="input name for unnamed values in a request without export metadata",
    )
    p.add_argument(
        "--dtype",
        help="dtype override for every input (DT_FLOAT, float32, DT_STRING, ...); "
        "default: export_metadata.json beside the request, else the values "
        '(numbers, booleans, {"b64": ...} strings) as tfs-smoke types them',
    )


def _add_run_args(p: argparse.ArgumentParser) -> None:
    _add_target_args(p)
    p.add_argument(
        "--rate",
        type=options.positive(float),
        default=constants.DEFAULT_RATE,
        help="target arrivals per second (open loop)",
    )
    p.add_argument(
        "--duration",
        type=options.positive(float),
        default=constants.DEFAULT_DURATION_S,
        help="measured window in seconds",
    )
    p.add_argument(
        "--warmup",
        type=float,
        default=constants.DEFAULT_WARMUP_S,
        help="seconds at the target rate before measuring (discarded)",
    )
    p.add_argument(
        "--arrival",
        choices=ARRIVALS,
        default="constant",
        help="open-loop arrival process",
    )
    p.add_argument(
        "--seed", type=int, default=constants.DEFAULT_SEED, help="Poisson seed"
    )
    p.add_argument(
        "--closed-loop",
        action="store_true",
        help="CLOSED-LOOP mode: --concurrency users send back-to-back; "
        "latency is not corrected, not for SLOs",
    )
    p.add_argument(
        "--concurrency",
        type=options.positive(int),
        default=8,
        help="users in --closed-loop mode",
    )
    p.add_argument(
        "--expected-latency-ms",
        type=options.positive(float),
        default=constants.DEFAULT_EXPECTED_LATENCY_MS,
        help="latency used to size the REST pool by Little's law",
    )
    _add_client_args(p, pool_latency="expected latency")
    _add_slo_args(p, p99_required=False)
    _add_gate_args(p)
    p.add_argument(
        "--metrics-url",
        help="TF Serving Prometheus URL to scrape request_count before/after",
    )
    p.add_argument(
        "--out", type=Path, help="report directory (default out/loadtest/<time>)"
    )
    _add_job_args(p)


def _add_client_args(p: argparse.ArgumentParser, pool_latency: str) -> None:
    """Connections, processes, timeout and retries of the generator."""
    p.add_argument(
        "--connections",
        type=int,
        default=0,
        help="gRPC: channels (TCP connections, default "
        f"{constants.DEFAULT_GRPC_CONNECTIONS}); REST: pool size = in-flight cap "
        f"(default: Little's law, rate x {pool_latency} x 2)",
    )
    p.add_argument(
        "--processes",
        type=options.positive(int),
        default=1,
        help="worker processes, each sending rate/P (histograms merged)",
    )
    p.add_argument(
        "--engine",
        choices=("python", "go"),
        default="python",
        help="who sends: this process (python) or the tfs-load-engine binary "
        "(go: one process on every core, for rates Python cannot keep; same "
        "schedule, recorder, gates and reports; host only)",
    )
    options.add_timeout(
        p, default=constants.DEFAULT_DEADLINE_S, help="per-request timeout in seconds"
    )
    p.add_argument(
        "--retry-connection-errors",
        action="store_true",
        help="model a retry-once client: a request whose attempt failed at the "
        "connection level with no response (REST: refused, reset, disconnected; "
        "gRPC: UNAVAILABLE) is sent once more, at once, within --timeout; other "
        "errors never are. Retries are reported (counts.retried), never hidden",
    )


def _add_slo_args(p: argparse.ArgumentParser, p99_required: bool) -> None:
    p.add_argument(
        "--max-p99-ms",
        type=options.positive(float),
        required=p99_required,
        help="SLO: corrected p99 limit (exit 1)",
    )
    p.add_argument(
        "--max-p95-ms",
        type=options.positive(float),
        help="SLO: corrected p95 limit (exit 1)",
    )
    p.add_argument(
        "--max-error-rate",
        type=float,
        default=constants.CAPACITY_MAX_ERROR_RATE if p99_required else None,
        help="SLO: errors/sent limit, e.g. 0.001 (exit 1)",
    )


def _add_gate_args(p: argparse.ArgumentParser) -> None:
    """The validity gates: when one fails the generator, not the target, limited."""
    p.add_argument(
        "--max-lag-p99-ms",
        type=float,
        help="gate: dispatch-lag p99 limit (default max(2 ms, 5%% of "
        "--max-p99-ms)); exceeded -> INVALID, exit 3",
    )
    p.add_argument(
        "--max-backlog-s",
        type=options.positive(float),
        default=constants.DEFAULT_MAX_BACKLOG_S,
        help="gate: abort as INVALID when a request is sent this many seconds "
        "behind schedule or more than rate x this many (max "
        f"{constants.MAX_BACKLOG_REQUESTS}) scheduled requests wait to be sent",
    )


def _add_job_args(p: argparse.ArgumentParser) -> None:
    job = p.add_argument_group(
        "in-cluster", "run the same load as a Kubernetes Job (no port-forward)"
    )
    job.add_argument(
        "--in-cluster",
        metavar="NAMESPACE",
        help="run as a Job in NAMESPACE; --target is the address the pod sees "
        "(e.g. http://<service>.<namespace>.svc:8501); the report JSON comes back "
        "to --out and the pod's exit code is returned",
    )
    job.add_argument(
        "--image",
        default=constants.CLIENT_TOOLS_IMAGE,
        help="client tools image the Job runs (must be on, or pullable by, the nodes)",
    )
    job.add_argument("--context", help="kubeconfig context (default: current)")
    job.add_argument(
        "--cpu-request",
        type=request_quantity,
        default=DEFAULT_REQUESTS["cpu"],
        help="the Job pod's CPU request; the scheduler holds the Job Pending until "
        "a node has it free",
    )
    job.add_argument(
        "--memory-request",
        type=request_quantity,
        default=DEFAULT_REQUESTS["memory"],
        help="the Job pod's memory request",
    )
    job.add_argument(
        "--print-summary",
        action="store_true",
        help="also print the report JSON as one last stdout line (how the Job's "
        "pod returns it)",
    )


def _add_ramp_args(
    p, start: float, factor: float, max_rate: float, step_s: float, warmup_s: float
) -> None:
    """The steps of a rate ramp (capacity and selftest), with their defaults."""
    p.add_argument(
        "--start-rate",
        type=options.positive(float),
        default=start,
        help="first step's rate (req/s)",
    )
    p.add_argument(
        "--factor",
        type=options.above_one(float),
        default=factor,
        help="rate multiplier per step",
    )
    p.add_argument(
        "--max-rate",
        type=options.positive(float),
        default=max_rate,
        help="stop ramping here",
    )
    p.add_argument(
        "--step-duration",
        type=options.positive(float),
        default=step_s,
        help="measured seconds per step",
    )
    p.add_argument(
        "--warmup",
        type=float,
        default=warmup_s,
        help="seconds at the step's rate before measuring (discarded)",
    )


def _add_capacity_args(p: argparse.ArgumentParser) -> None:
    _add_target_args(p)
    search = p.add_argument_group("search", "the steps (each an open-loop run)")
    _add_ramp_args(
        search,
        constants.CAPACITY_START_RATE,
        constants.CAPACITY_FACTOR,
        constants.CAPACITY_MAX_RATE,
        constants.CAPACITY_STEP_S,
        constants.CAPACITY_WARMUP_S,
    )
    search.add_argument(
        "--min-rate",
        type=options.positive(float),
        default=constants.CAPACITY_MIN_RATE,
        help="when the first step misses, step down to this rate",
    )
    search.add_argument(
        "--precision",
        type=options.positive(float),
        default=constants.CAPACITY_PRECISION,
        help="bisect until the highest met and lowest missed rates are within "
        "this fraction of each other",
    )
    search.add_argument(
        "--cooldown",
        type=float,
        default=constants.CAPACITY_COOLDOWN_S,
        help="idle seconds between steps, so a missed step's queue drains",
    )
    search.add_argument(
        "--attempts",
        type=options.positive(int),
        default=constants.CAPACITY_ATTEMPTS,
        help="runs at a rate before it counts as missed",
    )
    search.add_argument(
        "--arrival", choices=ARRIVALS, default="constant", help="arrival process"
    )
    search.add_argument(
        "--seed", type=int, default=constants.DEFAULT_SEED, help="Poisson seed"
    )
    _add_client_args(p, pool_latency="--max-p99-ms")
    _add_slo_args(p, p99_required=True)
    _add_gate_args(p)
    plan = p.add_argument_group("plan", "replicas and an HPA target for a rate")
    plan.add_argument(
        "--target-rate",
        type=options.positive(float),
        help="steady rate to plan replicas for (req/s)",
    )
    plan.add_argument(
        "--peak-rate",
        type=options.positive(float),
        help="highest rate the HPA must reach (default --target-rate)",
    )
    plan.add_argument(
        "--pods",
        type=options.positive(int),
        default=1,
        help="pods the measured target spread the load over (1: one pod directly; "
        "N: the Service with N ready pods)",
    )
    plan.add_argument(
        "--utilization",
        type=options.fraction,
        default=constants.CAPACITY_UTILIZATION,
        help="share of a pod's capacity to plan it at (0..1]",
    )
    p.add_argument(
        "--out", type=Path, help="report directory (default out/capacity/<time>)"
    )
    _add_job_args(p)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with its three sub-commands."""
    fmt = argparse.ArgumentDefaultsHelpFormatter
    parser = argparse.ArgumentParser(
        prog="tfs-load",
        description=__doc__.splitlines()[0],
        formatter_class=fmt,
        parents=[options.logging_parser(default_level="WARNING")],
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run_p = sub.add_parser("run", help="run a load test", formatter_class=fmt)
    _add_run_args(run_p)
    cmp_p = sub.add_parser(
        "compare", help="compare two summary.json", formatter_class=fmt
    )
    cmp_p.add_argument(
        "baseline", type=Path, help="baseline summary.json (or its directory)"
    )
    cmp_p.add_argument(
        "candidate", type=Path, help="candidate summary.json (or its directory)"
    )
    cmp_p.add_argument(
        "--budget-pct",
        type=float,
        default=constants.DEFAULT_BUDGET_PCT,
        help="allowed increase of p50/p90/p95/p99 and error rate, in %%",
    )
    cap_p = sub.add_parser(
        "capacity",
        help="find the highest rate that meets an SLO; plan replicas",
        formatter_class=fmt,
    )
    _add_capacity_args(cap_p)
    st_p = sub.add_parser(
        "selftest", help="measure this tool's ceiling on loopback", formatter_class=fmt
    )
    st_p.add_argument(
        "--protocols", default="rest,grpc", help="comma-separated protocols"
    )
    st_p.add_argument(
        "--processes", type=options.positive(int), default=1, help="client processes"
    )
    st_p.add_argument(
        "--server-processes",
        type=options.positive(int),
        default=1,
        help="loopback server processes (SO_REUSEPORT)",
    )
    _add_ramp_args(
        st_p,
        constants.SELFTEST_START_RATE,
        constants.SELFTEST_FACTOR,
        constants.SELFTEST_MAX_RATE,
        constants.SELFTEST_STEP_S,
        constants.SELFTEST_WARMUP_S,
    )
    st_p.add_argument(
        "--out",
        type=Path,
        default=constants.SELFTEST_DIR,
        help="write selftest.json here; later runs quote its ceiling",
    )
    return parser


def _load_payload(args: argparse.Namespace, target: str) -> Payload:
    if args.model_base_path:
        return payload_from_request_file(
            find_sample_request(args.model_base_path), args.input_name, args.dtype
        )
    if args.request:
        return payload_from_request_file(args.request, args.input_name, args.dtype)
    meta_target = args.metadata_target or (target if args.protocol == "rest" else None)
    if not args.model_name:
        raise PayloadError("without --request or --model-base-path, pass --model-name")
    if not meta_target:
        raise PayloadError(
            "gRPC needs a request: pass --request, --model-base-path "
            "or --metadata-target"
        )
    return payload_from_metadata(meta_target, args.model_name)


def _engine_problem(args: argparse.Namespace) -> str | None:
    """What --engine go cannot do with these flags, or None."""
    if args.engine != "go":
        return None
    if args.in_cluster:
        return (
            "--engine go runs on the host only (the client-tools image has no "
            "tfs-load-engine); drop --in-cluster or use --engine python"
        )
    if args.processes > 1:
        return "--engine go is one process that uses every core; drop --processes"
    if args.retry_connection_errors:
        return "--retry-connection-errors needs --engine python"
    from loadtest.go_engine import EngineError, binary

    try:
        binary()
    except EngineError as exc:
        return str(exc)
    return None


def _resolve_target_and_model(args: argparse.Namespace) -> str | None:
    """Folds --rest-url/--grpc-target into --protocol/--target and finds the model
    name; returns a usage problem, or None."""
    problem = _engine_problem(args)
    if problem:
        return problem
    if args.rest_url or args.grpc_target:
        args.protocol = "rest" if args.rest_url else "grpc"
        args.target, args.rest_url, args.grpc_target = (
            args.rest_url or args.grpc_target,
            None,
            None,
        )
    if args.model_name:
        return None
    request = args.request
    if request is None and args.model_base_path is not None:
        try:
            request = find_sample_request(args.model_base_path)
        except PayloadError:
            request = None
    if request is None:
        return None  # reading metadata over REST (it needs --model-name), or no input
    args.model_name = exported_model_name(Path(request))
    if args.model_name is None:
        return (
            "name the served model with --model-name (no export_metadata.json "
            "with a model_name beside the request)"
        )
    return None


def _target(args: argparse.Namespace) -> str:
    return args.target or (
        constants.DEFAULT_REST_TARGET
        if args.protocol == "rest"
        else constants.DEFAULT_GRPC_TARGET
    )


def _prepare(args: argparse.Namespace) -> tuple[str, Payload, bytes]:
    """The target and the request (REST body, gRPC bytes) to load it with.

    Raises:
        PayloadError: a gRPC target given as a URL, or no usable request.
    """
    target = _target(args)
    if args.protocol == "grpc" and "://" in target:
        raise PayloadError(f"gRPC --target is host:port, got {target}")
    payload = _load_payload(args, target)
    grpc_bytes = (
        grpc_request_bytes(payload, args.model_name) if args.protocol == "grpc" else b""
    )
    return target, payload, grpc_bytes


def _connections(args: argparse.Namespace, rate: float, latency_ms: float) -> int:
    """--connections, else gRPC's default, else a REST pool by Little's law."""
    if args.connections:
        return args.connections
    if args.protocol == "grpc":
        return constants.DEFAULT_GRPC_CONNECTIONS
    littles = math.ceil(rate * latency_ms / 1000 * 2)
    return min(
        constants.MAX_REST_CONNECTIONS, max(constants.MIN_REST_CONNECTIONS, littles)
    )


def _limits(args: argparse.Namespace) -> Limits:
    """The SLOs, and the dispatch-lag gate (default max(2 ms, 5% of the p99 SLO))."""
    from loadtest.report import Limits

    max_lag = args.max_lag_p99_ms
    if max_lag is None:
        max_lag = max(
            constants.DEFAULT_MAX_LAG_P99_MS,
            constants.LAG_SLO_FRACTION * (args.max_p99_ms or 0.0),
        )
    return Limits(
        max_p99_ms=args.max_p99_ms,
        max_p95_ms=args.max_p95_ms,
        max_error_rate=args.max_error_rate,
        max_lag_p99_ms=max_lag,
    )


def _run_config(
    args: argparse.Namespace,
    prepared: tuple[str, Payload, bytes],
    limits: Limits,
    **load,
) -> RunConfig:
    """A RunConfig from the shared flags; ``load`` sets rate, duration_s, warmup_s,
    connections (and closed_loop, concurrency for ``run``)."""
    from loadtest.engine import RunConfig

    target, payload, grpc_bytes = prepared
    return RunConfig(
        protocol=args.protocol,
        target=target,
        model_name=args.model_name,
        rest_body=payload.rest_body,
        grpc_request=grpc_bytes,
        arrival=args.arrival,
        seed=args.seed,
        deadline_s=args.timeout,
        max_backlog=backlog_bound(load["rate"], args.max_backlog_s),
        max_behind_s=args.max_backlog_s,
        processes=args.processes,
        on_time_allowance_s=limits.max_lag_p99_ms / 1000,
        retry_connection_errors=args.retry_connection_errors,
        engine=args.engine,
        **load,
    )


def _preflight_error(cfg: RunConfig) -> bool:
    """Send one request; print the problem and return True if it failed."""
    from loadtest.engine import preflight

    status, error = preflight(cfg)
    if error is None:
        return False
    print(
        f"error: the first request to {cfg.target} failed ({error}, status {status}); "
        "check --target, --model-name and the request before load testing",
        file=sys.stderr,
    )
    return True


def _as_job(
    args: argparse.Namespace, add_args, command: str, timeout_s: float | None = None
) -> int:
    from loadtest.job import run_as_job

    parser = argparse.ArgumentParser(add_help=False)
    add_args(parser)
    return run_as_job(args, parser, command, timeout_s)


def cmd_run(args: argparse.Namespace) -> int:
    """Execute ``run``: load, report, verdict."""
    problem = _resolve_target_and_model(args)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return constants.EXIT_USAGE
    if args.in_cluster:
        return _as_job(args, _add_run_args, "run")
    from loadtest.metrics import scrape, server_view
    from loadtest.recorder import merge_results
    from loadtest.report import build_summary, print_table, write_reports
    from loadtest.runner import WorkerError, run_results

    try:
        prepared = _prepare(args)
    except PayloadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return constants.EXIT_USAGE
    limits = _limits(args)
    cfg = _run_config(
        args,
        prepared,
        limits,
        rate=args.rate,
        duration_s=args.duration,
        warmup_s=max(0.0, args.warmup),
        connections=_connections(args, args.rate, args.expected_latency_ms),
        closed_loop=args.closed_loop,
        concurrency=args.concurrency,
    )
    if _preflight_error(cfg):
        return constants.EXIT_USAGE
    target = cfg.target
    before = None
    if args.metrics_url:
        try:
            before = scrape(args.metrics_url, args.model_name)
        except Exception as exc:  # noqa: BLE001 - optional view, never fatal
            log.warning("metrics scrape failed (%s); continuing without it", exc)
    print(
        f"running: {cfg.protocol} {cfg.target} "
        f"({'closed' if cfg.closed_loop else 'open'}"
        f"-loop) for {cfg.warmup_s:g}s warm-up + {cfg.duration_s:g}s"
        + (", retrying connection errors once" if cfg.retry_connection_errors else ""),
        file=sys.stderr,
    )
    try:
        merged = merge_results(run_results(cfg))
    except (WorkerError, OSError, TimeoutError) as exc:
        print(
            f"error: load run failed: {exc}; is the target up at {target}?",
            file=sys.stderr,
        )
        return constants.EXIT_USAGE
    server = None
    if before is not None:
        try:
            after = scrape(args.metrics_url, args.model_name)
            server = {
                **server_view(before, after),
                "client_sent_incl_warmup": merged.sent + merged.warmup_requests,
            }
        except Exception as exc:  # noqa: BLE001
            log.warning("metrics scrape failed (%s)", exc)
    summary = build_summary(cfg, merged, limits, server)
    summary["generator"]["selftest_ceiling_req_s_per_process"] = _selftest_ceiling(
        cfg.protocol
    )
    out = args.out or Path("out/loadtest") / time.strftime("%Y%m%dT%H%M%S")
    write_reports(summary, merged, out)
    print_table(summary)
    print(f"reports: {out}", file=sys.stderr)
    _print_for_job(args, summary)
    return summary["exit_code"]


def _print_for_job(args: argparse.Namespace, report: dict) -> None:
    """With --print-summary, the report as the last stdout line (a Job's way back)."""
    if args.print_summary:
        from loadtest.job import SUMMARY_MARKER

        print(SUMMARY_MARKER + json.dumps(report, separators=(",", ":")), flush=True)


def _print_step(step) -> None:
    from loadtest.capacity_report import step_row

    row = step_row(step)
    print(
        f"  {row['phase']:6} {row['rate']:8g} req/s: achieved "
        f"{row['achieved_req_s']:8g}, "
        f"p99 {row['p99_ms']:8.2f} ms, errors {row['errors']}, dispatch-lag p99 "
        f"{row['dispatch_lag_p99_ms']:.2f} ms -> {row['outcome']}"
        + (f" ({', '.join(row['failed'])})" if row["failed"] else ""),
        file=sys.stderr,
        flush=True,
    )


def cmd_capacity(args: argparse.Namespace) -> int:
    """Execute ``capacity``: search the SLO edge, report it, plan replicas."""
    from loadtest import capacity
    from loadtest.capacity_report import build_result, write_reports
    from loadtest.recorder import merge_results
    from loadtest.report import build_summary
    from loadtest.runner import WorkerError, run_results

    problem = _resolve_target_and_model(args)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return constants.EXIT_USAGE
    if args.peak_rate and not args.target_rate:
        print("error: --peak-rate needs --target-rate", file=sys.stderr)
        return constants.EXIT_USAGE
    bound = capacity.most_steps(
        args.start_rate,
        args.factor,
        args.max_rate,
        args.precision,
        args.attempts,
        args.min_rate,
    )
    if args.in_cluster:
        per_step = args.warmup + args.step_duration + args.cooldown + args.timeout
        return _as_job(args, _add_capacity_args, "capacity", bound * per_step)
    try:
        prepared = _prepare(args)
    except PayloadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return constants.EXIT_USAGE
    limits = _limits(args)

    def config(rate: float) -> RunConfig:
        return _run_config(
            args,
            prepared,
            limits,
            rate=rate,
            duration_s=args.step_duration,
            warmup_s=max(0.0, args.warmup),
            connections=_connections(args, rate, args.max_p99_ms),
        )

    def run_step(rate: float) -> dict:
        cfg = config(rate)
        summary = build_summary(cfg, merge_results(run_results(cfg)), limits)
        time.sleep(max(0.0, args.cooldown))
        return summary

    if _preflight_error(config(args.start_rate)):
        return constants.EXIT_USAGE
    print(
        f"capacity search: {args.protocol} {prepared[0]}, SLO p99 <= "
        f"{args.max_p99_ms:g} ms, error rate <= {args.max_error_rate:g}; steps of "
        f"{args.warmup:g}s warm-up + {args.step_duration:g}s (at most {bound})",
        file=sys.stderr,
    )
    try:
        found = capacity.search(
            run_step,
            args.start_rate,
            args.factor,
            args.max_rate,
            precision=args.precision,
            attempts=args.attempts,
            min_rate=args.min_rate,
            on_step=_print_step,
        )
    except (WorkerError, OSError, TimeoutError) as exc:
        print(
            f"error: a step failed to run: {exc}; is the target up at {prepared[0]}?",
            file=sys.stderr,
        )
        return constants.EXIT_USAGE
    advice = None
    if args.target_rate and found.best:
        advice = capacity.recommend(
            found.best, args.pods, args.target_rate, args.utilization, args.peak_rate
        )
    result = build_result(
        found,
        {
            "start_rate": args.start_rate,
            "factor": args.factor,
            "max_rate": args.max_rate,
            "min_rate": args.min_rate,
            "precision": args.precision,
            "attempts": args.attempts,
            "step_s": args.step_duration,
            "warmup_s": args.warmup,
            "arrival": args.arrival,
            "pods_measured": args.pods,
        },
        {
            "p99_ms": args.max_p99_ms,
            "p95_ms": args.max_p95_ms,
            "error_rate": args.max_error_rate,
        },
        advice,
        {
            "protocol": args.protocol,
            "target": prepared[0],
            "model_name": args.model_name,
        },
    )
    out = args.out or constants.CAPACITY_DIR / time.strftime("%Y%m%dT%H%M%S")
    write_reports(result, found, out)
    print((out / "capacity.md").read_text())
    print(f"reports: {out}", file=sys.stderr)
    _print_for_job(args, result)
    return {
        capacity.ENDED_AT_EDGE: constants.EXIT_PASS,
        capacity.ENDED_AT_MAX: constants.EXIT_PASS,
        capacity.ENDED_AT_MIN: constants.EXIT_SLO_BREACH,
        capacity.ENDED_BY_GENERATOR: constants.EXIT_INVALID,
    }[found.ended_by]


def _selftest_ceiling(protocol: str) -> float | None:
    """The last ``selftest`` ceiling for this protocol, if one was recorded."""
    path = constants.SELFTEST_DIR / "selftest.json"
    try:
        return json.loads(path.read_text())[protocol]["ceiling_req_s_per_process"]
    except (OSError, ValueError, KeyError):
        return None


def cmd_compare(args: argparse.Namespace) -> int:
    """Execute ``compare`` and print the delta table."""
    from rich.console import Console
    from rich.table import Table

    try:
        base, cand = load_summary(args.baseline), load_summary(args.candidate)
    except CompareError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return constants.EXIT_USAGE
    rows, code = compare(base, cand, args.budget_pct)
    table = Table(title=f"compare (budget {args.budget_pct:g}%)")
    for col in ("metric", "baseline", "candidate", "delta", "delta %", "result"):
        table.add_column(col, justify="right")
    for r in rows:
        result = "REGRESSION" if r["regression"] else ("ok" if r["judged"] else "info")
        table.add_row(
            r["metric"],
            f"{r['baseline']:.4g}",
            f"{r['candidate']:.4g}",
            f"{r['delta']:+.4g}",
            f"{r['delta_pct']:+.1f}",
            result,
        )
    console = Console()
    console.print(table)
    if code == constants.EXIT_INVALID:
        console.print("[bold red]an INVALID run cannot be compared (exit 3)[/]")
    else:
        console.print("regression" if code else "within budget")
    return code


def cmd_selftest(args: argparse.Namespace) -> int:
    """Execute ``selftest``: ramp against loopback servers, print the ceiling."""
    from loadtest.loopback import LoopbackServer
    from loadtest.selftest import find_ceiling

    protocols = [p.strip() for p in args.protocols.split(",") if p.strip()]
    if not protocols or any(p not in ("rest", "grpc") for p in protocols):
        print("error: --protocols takes rest and/or grpc", file=sys.stderr)
        return constants.EXIT_USAGE

    def on_step(protocol: str, rate: float, summary: dict, valid: bool) -> None:
        lag = summary["latency_ms"]["dispatch_lag"]["p99"]
        print(
            f"  {protocol} {rate:8.0f} req/s: achieved "
            f"{summary['rate']['achieved_send']:8.1f}, dispatch-lag p99 {lag:6.2f} ms, "
            f"p99 {summary['latency_ms']['corrected']['p99']:7.2f} ms, errors "
            f"{summary['counts']['errors']} -> {'valid' if valid else 'INVALID'}",
            file=sys.stderr,
        )

    results = {}
    with LoopbackServer(processes=args.server_processes) as server:
        for protocol in protocols:
            best, steps = find_ceiling(
                protocol,
                server,
                args.start_rate,
                args.factor,
                args.max_rate,
                args.step_duration,
                args.warmup,
                args.processes,
                on_step=on_step,
            )
            results[protocol] = {
                "ceiling_req_s": best,
                "client_processes": args.processes,
                "ceiling_req_s_per_process": best / args.processes,
                "steps": [
                    {
                        "rate": s["config"]["rate"],
                        "verdict": s["verdict"],
                        "achieved": s["rate"]["achieved_send"],
                        "dispatch_lag_p99_ms": s["latency_ms"]["dispatch_lag"]["p99"],
                        "p99_ms": s["latency_ms"]["corrected"]["p99"],
                    }
                    for s in steps
                ],
            }
    for protocol, res in results.items():
        print(
            f"generator ceiling ({protocol}, {args.processes} process(es), loopback, "
            f"fashion-MNIST-size payload): {res['ceiling_req_s']:.0f} req/s "
            f"(~{res['ceiling_req_s_per_process']:.0f} req/s/process)"
        )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "selftest.json").write_text(json.dumps(results, indent=2) + "\n")
    return constants.EXIT_PASS


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run the sub-command; return the exit code."""
    args = build_parser().parse_args(argv)
    options.setup_logging(args)
    if args.command == "run":
        return cmd_run(args)
    if args.command == "compare":
        return cmd_compare(args)
    if args.command == "capacity":
        return cmd_capacity(args)
    return cmd_selftest(args)


if __name__ == "__main__":
    raise SystemExit(main())
