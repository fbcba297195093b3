"""SLO-gated canary: load stable and canary together, compare them, decide.

Two open-loop arms run at the same time, one on ``/labels/stable`` and one on
``/labels/canary`` (or gRPC ``model_spec.version_label``), each a
``loadtest.engine.run_worker`` in its own thread, started on one barrier so both
see the same conditions; each arm's summary is ``loadtest.report.build_summary``
with the load tester's validity gates. The canary's own
``assets.extra/sample_request.json`` is sent to the canary label and its answer
compared with ``golden_outputs.json`` within the export's tolerance, as
``tfs-smoke`` compares it. ``decide`` turns the two summaries and the golden
result into promote, rollback or invalid; it is pure, so the rules are tested on
synthetic summaries.

Typical usage example:

    tfs-rollout --config-file models.config --rest-url http://127.0.0.1:8501 \\
        --model-base-path models/fashion_mnist analyze --canary-weight 0.2
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from loadtest import constants as lt_constants
from loadtest.engine import RunConfig, preflight, run_worker
from loadtest.payload import (
    PayloadError,
    grpc_request_bytes,
    payload_from_request_file,
)
from loadtest.recorder import merge_results
from loadtest.report import VERDICT_INVALID, Limits, build_summary
from loadtest.schedule import backlog_bound
from model_rollout import plan as rollout_plan
from model_rollout import server
from model_rollout.plan import CANARY, STABLE
from smoke_tests import compare, inputs
from tfserving_contract import layout, payloads, signature
from tfserving_contract.rest_client import RestClient, TransportError

log = logging.getLogger(__name__)

EXIT_PROMOTED = 0
EXIT_ROLLED_BACK = 1
EXIT_SETUP = 2
EXIT_INVALID = 3

PROMOTE, ROLLBACK, INVALID = "promote", "rollback", "invalid"

DEFAULT_CANARY_WEIGHT = 0.2
DEFAULT_RATE = 100.0
DEFAULT_DURATION_S = 60.0
DEFAULT_WARMUP_S = 10.0
DEFAULT_MAX_ERROR_RATE_INCREASE = 0.001
DEFAULT_MAX_P99_INCREASE_PCT = 20.0
DEFAULT_P99_FLOOR_MS = 2.0
DEFAULT_OUT_ROOT = Path("out/rollout")
# 10 / (1 - 0.99): fewer canary successes make its p99 close to its maximum.
MIN_P99_SAMPLES = 1000
# How long the server may take to resolve both labels as models.config says.
LABEL_WAIT_S = 30.0


class SetupError(ValueError):
    """The analysis cannot start (files, labels, first request); nothing changed."""


@dataclass(frozen=True)
class Budgets:
    """How much worse than stable the canary may be.

    Attributes:
        max_error_rate_increase: canary error rate <= stable's + this (absolute).
        max_p99_increase_pct: canary p99 <= stable p99 x (1 + this / 100) ...
        p99_floor_ms: ... or stable p99 + this, whichever is larger, so that
            sub-millisecond jitter on a fast model does not fail a canary.
    """

    max_error_rate_increase: float = DEFAULT_MAX_ERROR_RATE_INCREASE
    max_p99_increase_pct: float = DEFAULT_MAX_P99_INCREASE_PCT
    p99_floor_ms: float = DEFAULT_P99_FLOOR_MS


def p99_allowance_ms(stable_p99_ms: float, budgets: Budgets) -> float:
    """The highest canary p99 that passes: stable + max(pct of stable, floor)."""
    relative = stable_p99_ms * budgets.max_p99_increase_pct / 100
    return stable_p99_ms + max(relative, budgets.p99_floor_ms)


def arm_numbers(summary: dict) -> dict:
    """The figures of one arm the decision uses (corrected latency, successes)."""
    counts = summary["counts"]
    corrected = summary["latency_ms"]["corrected"]
    has_ok = counts["ok"] > 0
    return {
        "label": summary.get("label"),
        "target_rate": summary["rate"]["target"],
        "achieved_send_rate": summary["rate"]["achieved_send"],
        "sent": counts["sent"],
        "ok": counts["ok"],
        "errors": counts["errors"],
        "error_rate": summary["error_rate"],
        "errors_by_kind": summary["errors_by_kind"],
        "p50_ms": corrected["p50"] if has_ok else None,
        "p99_ms": corrected["p99"] if has_ok else None,
        "verdict": summary["verdict"],
        "failed_gates": [g["name"] for g in summary["gates"] if not g["ok"]],
    }


def _invalid_reasons(stable: dict, canary: dict) -> list[str]:
    reasons = []
    for name, arm in ((STABLE, stable), (CANARY, canary)):
        if arm["verdict"] == VERDICT_INVALID or arm["sent"] == 0:
            gates = ", ".join(arm["failed_gates"]) or "nothing sent"
            reasons.append(f"{name} arm INVALID (generator gates failed: {gates})")
    if stable["ok"] == 0 and not reasons:
        reasons.append("stable arm had no successful request: no baseline")
    return reasons


def decide(
    stable_summary: dict, canary_summary: dict, golden: dict, budgets: Budgets
) -> dict:
    """Promote, roll back or invalid, with each check and its numbers.

    Args:
        stable_summary: build_summary() of the stable arm.
        canary_summary: build_summary() of the canary arm.
        golden: golden_check() of the canary ({"ok": bool, ...}).
        budgets: the allowed degradation.

    Returns:
        {"decision", "exit_code", "reasons", "checks", "stable", "canary"}.
        "invalid" (exit 3) whenever either arm's run is INVALID, whatever the
        other checks say: an invalid measurement is never a pass.
    """
    stable = arm_numbers(stable_summary)
    canary = arm_numbers(canary_summary)
    error_limit = stable["error_rate"] + budgets.max_error_rate_increase
    checks = [
        {
            "name": "error_rate",
            "ok": canary["error_rate"] <= error_limit,
            "value": canary["error_rate"],
            "limit": error_limit,
            "detail": f"canary {canary['error_rate']:.4%} <= stable "
            f"{stable['error_rate']:.4%} + {budgets.max_error_rate_increase:.4%}",
        }
    ]
    if stable["p99_ms"] is not None:
        p99_limit = p99_allowance_ms(stable["p99_ms"], budgets)
        canary_p99 = canary["p99_ms"] if canary["p99_ms"] is not None else math.inf
        checks.append(
            {
                "name": "p99_ms",
                "ok": canary_p99 <= p99_limit,
                "value": canary_p99,
                "limit": p99_limit,
                "detail": f"canary p99 {canary_p99:.3f} ms <= stable "
                f"{stable['p99_ms']:.3f} ms + max({budgets.max_p99_increase_pct:g}%, "
                f"{budgets.p99_floor_ms:g} ms) = {p99_limit:.3f} ms",
            }
        )
    checks.append(
        {
            "name": "golden",
            "ok": bool(golden.get("ok")),
            "value": golden.get("max_abs_diff"),
            "limit": {"rtol": golden.get("rtol"), "atol": golden.get("atol")},
            "detail": golden.get("detail", ""),
        }
    )
    reasons = _invalid_reasons(stable, canary)
    if reasons:
        decision, code = INVALID, EXIT_INVALID
    elif all(c["ok"] for c in checks):
        decision, code = PROMOTE, EXIT_PROMOTED
        reasons = ["every check passed"]
    else:
        decision, code = ROLLBACK, EXIT_ROLLED_BACK
        reasons = [f"{c['name']} failed: {c['detail']}" for c in checks if not c["ok"]]
    return {
        "decision": decision,
        "exit_code": code,
        "reasons": reasons,
        "checks": checks,
        "stable": stable,
        "canary": canary,
    }


def version_bundle(base_path: Path, version: int) -> inputs.SampleBundle:
    """The sample request, golden outputs and metadata of ``<base>/<version>``.

    Raises:
        SetupError: no such version, no sample_request.json or no
            golden_outputs.json (the analysis promises a golden check).
    """
    try:
        versions = inputs.version_dirs(base_path)
        if version not in versions:
            raise SetupError(
                f"--model-base-path {base_path} has no version {version} "
                f"(it has {list(versions)}): pass a local copy of the model's versions"
            )
        bundle = inputs.load(layout.assets_extra(versions[version]))
    except inputs.InputError as err:
        raise SetupError(str(err)) from err
    if not bundle.golden:
        raise SetupError(
            f"{bundle.directory / layout.GOLDEN_OUTPUTS_FILE} is missing: the "
            "analysis checks the canary's golden outputs; export with model_export"
        )
    return bundle


def golden_check(
    rest_url: str, model: str, label: str, bundle: inputs.SampleBundle, timeout: float
) -> dict:
    """Sends the version's sample to ``label`` and compares with its goldens."""
    sig = signature.from_export_metadata(bundle.metadata)
    names = sorted(sig.outputs) if sig else []
    rtol, atol = bundle.tolerance
    client = RestClient(rest_url, timeout)
    path = client.model_path(model, label=label) + ":predict"
    result = {"label": label, "version": bundle.version, "path": path}
    result.update(rtol=rtol, atol=atol, max_abs_diff=None)
    try:
        sample = payloads.sample_tensors(bundle.sample, sig)
        reply = client.post(path, payloads.row_body(sample, bundle.signature_name))
        if reply.status != 200:
            detail = f"POST {path}: HTTP {reply.status}: {reply.error_text()[:200]}"
            return {**result, "ok": False, "detail": detail}
        actual = payloads.parse_predictions(reply.body, names)
        golden = payloads.parse_predictions(bundle.golden, names)
    except (TransportError, payloads.PayloadError) as err:
        return {**result, "ok": False, "detail": f"POST {path}: {err}"}
    finally:
        client.close()
    problems = compare.outputs(actual, golden, rtol, atol)
    diff = compare.max_abs_diff(actual, golden)
    tol = f"rtol={rtol:g}, atol={atol:g}"
    if problems:
        detail = f"differs from golden_outputs.json ({tol}): " + "; ".join(problems)
    else:
        detail = "matches golden_outputs.json (" + tol
        detail += f", max |diff| {diff:.2g})" if diff is not None else ")"
    return {**result, "ok": not problems, "max_abs_diff": diff, "detail": detail}


@dataclass(frozen=True)
class LoadPlan:
    """The analysis load: total rate split by weight between the two labels."""

    protocol: str
    target: str
    model: str
    rate: float
    canary_weight: float
    duration_s: float
    warmup_s: float
    deadline_s: float = lt_constants.DEFAULT_DEADLINE_S
    max_backlog_s: float = lt_constants.DEFAULT_MAX_BACKLOG_S
    max_lag_p99_ms: float = lt_constants.DEFAULT_MAX_LAG_P99_MS


def arm_config(plan: LoadPlan, label: str, request_file: Path) -> RunConfig:
    """The RunConfig of one arm (``label`` is stable or canary).

    Raises:
        SetupError: the sample request cannot be turned into a request.
    """
    try:
        payload = payload_from_request_file(request_file)
        grpc = (
            grpc_request_bytes(payload, plan.model, label=label)
            if plan.protocol == "grpc"
            else b""
        )
    except PayloadError as err:
        raise SetupError(str(err)) from err
    share = plan.canary_weight if label == CANARY else 1 - plan.canary_weight
    rate = plan.rate * share
    latency_s = lt_constants.DEFAULT_EXPECTED_LATENCY_MS / 1000
    connections = (
        lt_constants.DEFAULT_GRPC_CONNECTIONS
        if plan.protocol == "grpc"
        else max(lt_constants.MIN_REST_CONNECTIONS, math.ceil(rate * latency_s * 2))
    )
    return RunConfig(
        protocol=plan.protocol,
        target=plan.target,
        model_name=plan.model,
        rest_body=payload.rest_body,
        grpc_request=grpc,
        rate=rate,
        duration_s=plan.duration_s,
        warmup_s=plan.warmup_s,
        connections=connections,
        deadline_s=plan.deadline_s,
        max_backlog=backlog_bound(rate, plan.max_backlog_s),
        max_behind_s=plan.max_backlog_s,
        on_time_allowance_s=plan.max_lag_p99_ms / 1000,
        label=label,
    )


def check_first_requests(configs: dict[str, RunConfig]) -> None:
    """One request per arm before the load (the label resolves, the body fits).

    Raises:
        SetupError: naming the arm and the error.
    """
    for label, cfg in configs.items():
        status, error = preflight(cfg)
        if error is not None:
            raise SetupError(
                f"the first request to label {label} failed ({error}, status "
                f"{status}); check the label, --model-name and the sample request"
            )


def run_arms(configs: dict[str, RunConfig], plan: LoadPlan) -> dict[str, dict]:
    """Runs every arm at once (one thread each, one start barrier); summaries.

    Raises:
        RuntimeError: an arm's worker failed.
    """
    barrier = threading.Barrier(len(configs))
    results: dict[str, dict] = {}
    errors: list[str] = []

    def work(label: str, cfg: RunConfig) -> None:
        try:
            results[label] = run_worker(cfg, 0, barrier)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(f"{label}: {type(exc).__name__}: {exc}")
            barrier.abort()

    threads = [
        threading.Thread(target=work, args=item, name=f"arm-{item[0]}", daemon=True)
        for item in configs.items()
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(plan.warmup_s + plan.duration_s + plan.deadline_s + 120)
    if errors or len(results) != len(configs):
        raise RuntimeError("; ".join(errors) or "an arm did not finish")
    limits = Limits(max_lag_p99_ms=plan.max_lag_p99_ms)
    summaries = {}
    for label, cfg in configs.items():
        summary = build_summary(cfg, merge_results([results[label]]), limits)
        summary["label"] = label
        summaries[label] = summary
    return summaries


def _fmt_ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def table(report: dict) -> str:
    """The concise per-arm table and the checks, for stdout and report.md."""
    decision = report["decision"]
    lines = [
        "| arm | version | target req/s | sent | ok | errors | error rate "
        "| p50 ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in (STABLE, CANARY):
        arm = decision[name]
        lines.append(
            f"| {name} | {report['versions'][name]} | {arm['target_rate']:g} "
            f"| {arm['sent']} | {arm['ok']} | {arm['errors']} "
            f"| {arm['error_rate']:.4%} | {_fmt_ms(arm['p50_ms'])} "
            f"| {_fmt_ms(arm['p99_ms'])} |"
        )
    lines += ["", "| check | result | detail |", "|---|---|---|"]
    for check in decision["checks"]:
        result = "pass" if check["ok"] else "FAIL"
        detail = check["detail"].replace("|", "\\|")
        lines.append(f"| {check['name']} | {result} | {detail} |")
    return "\n".join(lines)


def render_markdown(report: dict) -> str:
    """report.md: decision, what was done, the table, budgets, notes."""
    decision = report["decision"]
    budgets = report["budgets"]
    load = report["load"]
    lines = [
        f"# Canary analysis: {report['model']} stable={report['versions'][STABLE]} "
        f"canary={report['versions'][CANARY]}",
        "",
        f"**Decision: {decision['decision'].upper()}** (exit code "
        f"{decision['exit_code']}); action: {report['action']}",
        "",
        *[f"- {reason}" for reason in decision["reasons"]],
        "",
        f"Load: {load['protocol']} {load['target']}, open loop {load['rate']:g} "
        f"req/s, canary weight {load['canary_weight']:g}, {load['warmup_s']:g} s "
        f"warm-up + {load['duration_s']:g} s measured; both arms at once; latency "
        "from the scheduled send (corrected), successes.",
        "",
        table(report),
        "",
        f"Budgets: error rate +{budgets['max_error_rate_increase']:g} (absolute); "
        f"p99 +{budgets['max_p99_increase_pct']:g}% or +{budgets['p99_floor_ms']:g} "
        "ms, whichever is larger.",
        "",
        *[f"Note: {note}" for note in report["notes"]],
    ]
    return "\n".join(lines).rstrip() + "\n"


def notes(decision: dict) -> list[str]:
    """Caveats about the evidence (few canary samples)."""
    ok = decision[CANARY]["ok"]
    if 0 < ok < MIN_P99_SAMPLES:
        return [
            f"the canary arm has {ok} successes, below {MIN_P99_SAMPLES} "
            "(10 / (1 - 0.99)): its p99 is close to its maximum; raise --rate, "
            "--duration or --canary-weight for a firmer p99"
        ]
    return []


def write_report(report: dict, out_dir: Path, summaries: dict[str, dict]) -> None:
    """analysis.json, report.md and each arm's full loadtest summary."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "analysis.json").write_text(json.dumps(report, indent=2) + "\n")
    (out_dir / "report.md").write_text(render_markdown(report))
    for label, summary in summaries.items():
        path = out_dir / f"{label}.summary.json"
        path.write_text(json.dumps(summary, indent=2) + "\n")


def default_out_dir() -> Path:
    """out/rollout/<UTC time>."""
    return DEFAULT_OUT_ROOT / time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())


def _label_versions(config: Any, model: str) -> tuple[int, int]:
    current = rollout_plan.labels(config, model)
    missing = [label for label in (STABLE, CANARY) if label not in current]
    if missing:
        raise SetupError(
            f"models.config has no {' or '.join(missing)} label for {model} "
            f"(labels {current}): run `canary N` first"
        )
    if current[STABLE] == current[CANARY]:
        raise SetupError(
            f"stable and canary both point at version {current[STABLE]}: "
            "nothing to compare; run `canary N` with the new version"
        )
    return current[STABLE], current[CANARY]


def _apply(args: Any, target: Any, before: str, model: str, versions: dict) -> str:
    """Promotes or rolls back on the target; returns what was done.

    Raises:
        RolloutError: models.config changed during the analysis, or the server
            did not report the change in time.
    """
    url = args.rest_url.rstrip("/")
    text = target.read()
    config = rollout_plan.parse(text)
    if rollout_plan.labels(config, model) != rollout_plan.labels(
        rollout_plan.parse(before), model
    ):
        raise rollout_plan.RolloutError(
            "models.config labels changed during the analysis; nothing was written: "
            "run the analysis again"
        )
    if args.decision == PROMOTE:
        label, version = STABLE, rollout_plan.promote(config, model)
    else:
        label, version = CANARY, versions[STABLE]
        rollout_plan.set_label(config, model, CANARY, version)
    target.write(rollout_plan.render(config))
    took = server.wait_for(
        lambda: server.label_version(url, model, label) == version,
        args.timeout,
        f"label {label} -> {version}",
    )
    persist = " ".join(rollout_plan.helm_sets(config, model))
    kept = ""
    if args.decision == ROLLBACK:
        kept = f"; version {versions[CANARY]} stays loaded, unlabelled"
    return (
        f"label {label} -> {version} after {took:.1f} s{kept}. "
        f"To keep it across helm upgrades: {persist}"
    )


def run_analysis(args: Any, target: Any, model: str) -> int:
    """The `analyze` action: setup, load, decide, apply, report; the exit code.

    Raises:
        SetupError: before any load (nothing changed).
    """
    if args.model_base_path is None:
        raise SetupError(
            "analyze needs --model-base-path: a local copy of the model's versions, "
            "for the canary's sample_request.json and golden_outputs.json"
        )
    before = target.read()
    config = rollout_plan.parse(before)
    url = args.rest_url.rstrip("/")
    stable_v, canary_v = _label_versions(config, model)
    versions = {STABLE: stable_v, CANARY: canary_v}
    resolved: dict[str, int | None] = {}

    def labels_resolved() -> bool:
        resolved.update({k: server.label_version(url, model, k) for k in versions})
        return resolved == versions

    try:
        server.wait_for(labels_resolved, LABEL_WAIT_S, "the labels to resolve")
    except rollout_plan.RolloutError as err:
        raise SetupError(
            f"the server resolves the labels to {resolved}, models.config says "
            f"{versions}: wait for the server to read models.config"
        ) from err
    bundle = version_bundle(args.model_base_path, canary_v)
    if args.protocol == "grpc" and not args.grpc_target:
        raise SetupError("--protocol grpc needs --grpc-target HOST:PORT")
    load = LoadPlan(
        protocol=args.protocol,
        target=args.grpc_target if args.protocol == "grpc" else url,
        model=model,
        rate=args.rate,
        canary_weight=args.canary_weight,
        duration_s=args.duration,
        warmup_s=args.warmup,
        max_backlog_s=args.max_backlog_s,
        max_lag_p99_ms=args.max_lag_p99_ms,
    )
    request_file = bundle.directory / layout.SAMPLE_REQUEST_FILE
    configs = {label: arm_config(load, label, request_file) for label in versions}
    check_first_requests(configs)
    golden = golden_check(url, model, CANARY, bundle, lt_constants.DEFAULT_DEADLINE_S)
    try:
        summaries = run_arms(configs, load)
    except RuntimeError as err:
        raise SetupError(f"the load failed: {err}") from err
    budgets = Budgets(
        args.max_error_rate_increase, args.max_p99_increase_pct, args.p99_floor_ms
    )
    decision = decide(summaries[STABLE], summaries[CANARY], golden, budgets)
    args.decision = decision["decision"]
    code = decision["exit_code"]
    if decision["decision"] == INVALID:
        action = "none: the analysis is INVALID, no label changed"
    elif args.dry_run:
        action = f"none: --dry-run (would {decision['decision']})"
    else:
        try:
            action = _apply(args, target, before, model, versions)
        except rollout_plan.RolloutError as err:
            action, code = f"FAILED to {decision['decision']}: {err}", EXIT_SETUP
    report = {
        "tool": "tfs-rollout analyze",
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "target": target.describe(),
        "model": model,
        "versions": versions,
        "load": asdict(load),
        "budgets": asdict(budgets),
        "golden": golden,
        "decision": decision,
        "action": action,
        "exit_code": code,
        "dry_run": bool(args.dry_run),
        "notes": notes(decision),
    }
    out_dir = args.out or default_out_dir()
    write_report(report, out_dir, summaries)
    print(table(report))
    print(
        f"decision: {decision['decision'].upper()} ({'; '.join(decision['reasons'])})"
    )
    print(f"action: {action}")
    print(f"report: {out_dir / 'report.md'}")
    return code
