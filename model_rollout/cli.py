"""``tfs-rollout``: TF Serving's two-step label rollout on a release or a file.

Typical usage example:

    kubectl port-forward svc/tf-serving 8501 &
    tfs-rollout --configmap tf-serving-models --rest-url http://127.0.0.1:8501 load 3
    tfs-rollout ... --model-base-path models/m --memory-check refuse load 3
    tfs-rollout ... canary 3
    tfs-rollout ... promote
    tfs-rollout ... rollback
    tfs-rollout ... --model-base-path models/m analyze --canary-weight 0.2
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from model_rollout import analysis, memory, plan, server
from model_rollout.targets import ConfigMapTarget, FileTarget
from smoke_tests.cluster import ClusterError
from tfserving_contract import headroom, options

ACTIONS = ("status", "load", "canary", "analyze", "promote", "rollback", "unload")


def build_parser() -> argparse.ArgumentParser:
    """Flags of tfs-rollout."""
    parser = argparse.ArgumentParser(
        prog="tfs-rollout",
        description="Load, canary, promote, roll back and unload model versions "
        "through models.config version labels.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        parents=[options.logging_parser(default_level="WARNING")],
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--config-file", type=Path, help="a models.config file")
    where.add_argument("--configmap", help="ConfigMap holding models.config")
    parser.add_argument("--namespace", default="default", help="ConfigMap namespace")
    options.add_rest_url(
        parser, required=True, help="TF Serving REST URL (e.g. a port-forward)"
    )
    options.add_model_name(
        parser, help="model to act on (default: the one model in models.config)"
    )
    options.add_timeout(parser, default=240.0, help="seconds to wait for the server")
    parser.add_argument(
        "--to", type=int, help="rollback: the version stable returns to"
    )
    parser.add_argument("action", choices=ACTIONS, help="what to do")
    parser.add_argument(
        "version", type=int, nargs="?", help="load/canary/unload: version"
    )
    parser.add_argument(
        "--version",
        dest="version_flag",
        type=int,
        help="the same as the VERSION argument (`load --version 3`)",
    )
    options.add_model_base_path(
        parser,
        help="load, analyze: a local copy of the model's base path (e.g. "
        "models/<name>): load reads the versions' memory figures from "
        "export_metadata.json, analyze the canary's sample_request.json and "
        "golden_outputs.json",
    )
    headroom.add_flags(
        parser,
        limit_help="load: the memory limit to check against; default: the "
        "tf-serving container's resources.limits.memory in the Deployment that "
        "mounts --configmap (give it with --config-file)",
    )
    add_analysis_flags(parser.add_argument_group("analyze"))
    return parser


def _weight(text: str) -> float:
    value = options.positive(float)(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1), got {text}")
    return value


def add_analysis_flags(group) -> None:
    """Flags of `analyze` (the SLO-gated canary; see docs/rollouts.md)."""
    positive = options.positive(float)
    group.add_argument(
        "--canary-weight",
        type=_weight,
        default=analysis.DEFAULT_CANARY_WEIGHT,
        help="share of --rate sent to /labels/canary (the rest to /labels/stable)",
    )
    group.add_argument(
        "--rate",
        type=positive,
        default=analysis.DEFAULT_RATE,
        help="open-loop requests/s over both labels",
    )
    group.add_argument(
        "--duration",
        type=positive,
        default=analysis.DEFAULT_DURATION_S,
        help="measured seconds",
    )
    group.add_argument(
        "--warmup",
        type=float,
        default=analysis.DEFAULT_WARMUP_S,
        help="seconds of load before measuring (not counted)",
    )
    group.add_argument(
        "--protocol", choices=("rest", "grpc"), default="rest", help="load protocol"
    )
    options.add_grpc_target(
        group, help="--protocol grpc: TF Serving gRPC host:port (label in model_spec)"
    )
    group.add_argument(
        "--max-error-rate-increase",
        type=float,
        default=analysis.DEFAULT_MAX_ERROR_RATE_INCREASE,
        help="canary error rate may exceed stable's by this much (absolute)",
    )
    group.add_argument(
        "--max-p99-increase-pct",
        type=float,
        default=analysis.DEFAULT_MAX_P99_INCREASE_PCT,
        help="canary p99 may exceed stable's by this percentage ...",
    )
    group.add_argument(
        "--p99-floor-ms",
        type=float,
        default=analysis.DEFAULT_P99_FLOOR_MS,
        help="... or by this many ms, whichever is larger",
    )
    group.add_argument(
        "--max-lag-p99-ms",
        type=positive,
        default=analysis.lt_constants.DEFAULT_MAX_LAG_P99_MS,
        help="generator validity gate: dispatch-lag p99 (an INVALID run changes "
        "nothing)",
    )
    group.add_argument(
        "--max-backlog-s",
        type=positive,
        default=analysis.lt_constants.DEFAULT_MAX_BACKLOG_S,
        help="generator validity gate: seconds of backlog before the run aborts",
    )
    group.add_argument(
        "--out",
        type=Path,
        help="report directory (default: out/rollout/<UTC time>)",
    )
    group.add_argument(
        "--dry-run",
        action="store_true",
        help="analyze and report, but move no label (exit code still says what "
        "the decision was)",
    )


def relabel(args: argparse.Namespace, config, model: str) -> tuple[str, int]:
    """The (label, version) that canary/promote/rollback moves."""
    if args.action == "canary":
        return plan.CANARY, args.version
    if args.action == "promote":
        version = plan.labels(config, model).get(plan.CANARY)
        if version is None:
            raise plan.RolloutError("no canary label to promote: run `canary N`")
        return plan.STABLE, version
    return plan.STABLE, plan.rollback_target(config, model, args.to)


def run(args: argparse.Namespace) -> str | int:
    """Performs one action; returns the line to print (analyze: its exit code)."""
    target = (
        FileTarget(args.config_file)
        if args.config_file
        else ConfigMapTarget(args.configmap, args.namespace)
    )
    config = plan.parse(target.read())
    url = args.rest_url.rstrip("/")
    model = args.model_name or plan.only_model(config)
    if args.action == "analyze":
        return analysis.run_analysis(args, target, model)
    if args.action == "status":
        return (
            f"{target.describe()}: serves {plan.served(config, model)}, labels "
            f"{plan.labels(config, model)}; server: {server.version_states(url, model)}"
        )
    if args.action in ("load", "canary", "unload") and args.version is None:
        raise plan.RolloutError(f"`{args.action}` needs a VERSION")
    if args.action == "load":
        verdict = memory.check_load(args, target, config, model, args.version)
        for line in verdict.warnings:
            print(f"tfs-rollout: warning: {line}", file=sys.stderr)
        if verdict.refusal:
            raise plan.RolloutError(verdict.refusal)
        plan.load_version(config, model, args.version)
        want, what = True, f"version {args.version} AVAILABLE"
    elif args.action == "unload":
        plan.unload_version(config, model, args.version)
        want, what = False, f"version {args.version} unloaded"
    else:
        label, version = relabel(args, config, model)
        server.require_available(url, model, version)
        plan.set_label(config, model, label, version)
        what = f"label {label} -> {version}"

    def check() -> bool:
        if args.action in ("load", "unload"):
            state = server.version_states(url, model).get(args.version)
            return (state == "AVAILABLE") == want
        return server.label_version(url, model, label) == version

    target.write(plan.render(config))
    took = server.wait_for(check, args.timeout, what)
    persist = " ".join(plan.helm_sets(config, model))
    return f"{what} after {took:.1f} s. To keep it across helm upgrades: {persist}"


def main(argv: list[str] | None = None) -> int:
    """0 done, 1 refused or timed out, 2 usage (or no cluster config).

    analyze: 0 promoted, 1 rolled back, 2 usage or setup error (nothing changed,
    or applying the decision failed), 3 the analysis is INVALID (nothing changed).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    options.setup_logging(args)
    if args.version_flag is not None:
        if args.version is not None and args.version != args.version_flag:
            parser.error(
                f"VERSION {args.version} and --version {args.version_flag} differ; "
                "give one"
            )
        args.version = args.version_flag
    try:
        result = run(args)
        if isinstance(result, int):
            return result
        print(result)
    except analysis.SetupError as err:
        print(f"tfs-rollout: error: {err}", file=sys.stderr)
        return analysis.EXIT_SETUP
    except plan.RolloutError as err:
        print(f"tfs-rollout: error: {err}", file=sys.stderr)
        return analysis.EXIT_SETUP if args.action == "analyze" else 1
    except ClusterError as err:
        print(f"tfs-rollout: error: {err}", file=sys.stderr)
        return 2
    return 0
