"""Command line for the TF Serving smoke test (``tfs-smoke``).

Exit codes: 0 every check passed, 1 a check failed, 2 usage or configuration
error (bad flags, unreadable sample directory, release not found).

Typical usage example:

    python -m smoke_tests --rest-url http://127.0.0.1:8501 \
        --grpc-target 127.0.0.1:8500 --model-base-path models/fashion_mnist
    python -m smoke_tests --release tf-serving --namespace ml --model-base-path models/m
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from rich.console import Console

from smoke_tests import checks, constants, hints, inputs, report
from smoke_tests.checks import CheckResult, SmokeConfig, SmokeRun
from tfserving_contract import options, signature

logger = logging.getLogger(__name__)


class UsageError(ValueError):
    """Flags or inputs are inconsistent; exit code 2."""


def _label(text: str) -> tuple[str, int]:
    name, sep, version = text.partition("=")
    if not sep or not name or not version.strip().isdigit():
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected LABEL=VERSION, e.g. stable=2"
        )
    return name.strip(), int(version)


def build_parser() -> argparse.ArgumentParser:
    """Returns the argument parser."""
    parser = argparse.ArgumentParser(
        prog="tfs-smoke",
        description="Signature-driven smoke test of a TF Serving deployment over "
        "REST and gRPC: status, metadata, golden predictions, error paths, metrics.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        parents=[options.logging_parser(default_level="WARNING")],
    )
    target = parser.add_argument_group("target (URLs, or a Helm release)")
    options.add_rest_url(
        target,
        help=f"REST base URL, e.g. http://127.0.0.1:{constants.DEFAULT_REST_PORT}",
    )
    options.add_grpc_target(
        target, help=f"gRPC host:port, e.g. 127.0.0.1:{constants.DEFAULT_GRPC_PORT}"
    )
    target.add_argument(
        "--release",
        help="Helm release: find its Service (label "
        f"{constants.RELEASE_LABEL}) and port-forward to its http/grpc ports",
    )
    target.add_argument(
        "--namespace",
        default=constants.DEFAULT_NAMESPACE,
        help="namespace of --release",
    )
    target.add_argument("--context", help="kubeconfig context for --release")
    data = parser.add_argument_group("inputs")
    source = data.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--sample-dir",
        type=Path,
        help="<base>/<N>/assets.extra holding sample_request.json, "
        "golden_outputs.json and export_metadata.json",
    )
    options.add_model_base_path(
        source,
        help="model base path; uses the newest version (among --expect-versions) "
        "that has a sample request",
    )
    options.add_model_name(
        data, help="model name to query (default: model_name in export metadata)"
    )
    data.add_argument(
        "--expect-versions",
        type=options.version_list,
        default=[],
        help="versions that must be AVAILABLE, e.g. 1,2 (default: any one)",
    )
    data.add_argument(
        "--expect-label",
        type=_label,
        action="append",
        default=[],
        metavar="LABEL=VERSION",
        help="a version label that must resolve to VERSION (repeatable)",
    )
    route = data.add_mutually_exclusive_group()
    route.add_argument("--label", help="send predictions to /labels/LABEL")
    route.add_argument(
        "--model-version",
        type=int,
        metavar="N",
        help="send predictions to /versions/N (and use that version's sample)",
    )
    data.add_argument(
        "--metrics-path",
        help="Prometheus path on the REST port to check, e.g. "
        "/monitoring/prometheus/metrics (skipped when not given)",
    )
    tune = parser.add_argument_group("limits and output")
    options.add_timeout(
        tune,
        default=constants.DEFAULT_TIMEOUT_SECONDS,
        help="seconds allowed for every request (REST connect/read, gRPC deadline)",
    )
    tune.add_argument(
        "--wait-ready",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="first poll model status until the expected versions are AVAILABLE "
        "(0: check once)",
    )
    tune.add_argument(
        "--concurrency",
        type=int,
        default=0,
        metavar="N",
        help="also send the sample N times in parallel over REST and require "
        "identical answers (a sanity check, not a load test; 0 skips it)",
    )
    tune.add_argument(
        "--rtol", type=float, help="relative tolerance (default: export metadata)"
    )
    tune.add_argument(
        "--atol", type=float, help="absolute tolerance (default: export metadata)"
    )
    tune.add_argument(
        "--max-grpc-message-mb",
        type=int,
        default=constants.DEFAULT_MAX_GRPC_MESSAGE_MB,
        help="gRPC client send/receive message limit in MiB",
    )
    tune.add_argument(
        "--fail-on-version-errors",
        action="store_true",
        help="exit 1 when any version ended with a load error (e.g. a broken v3 "
        "beside a serving v2); otherwise it is reported but does not fail the run",
    )
    tune.add_argument("--json", type=Path, help="write the JSON report to this file")
    return parser


def _validate(args: argparse.Namespace) -> None:
    if args.release and (args.rest_url or args.grpc_target):
        raise UsageError("give either --release or --rest-url/--grpc-target, not both")
    if not (args.release or args.rest_url or args.grpc_target):
        raise UsageError(
            "no target: pass --rest-url and/or --grpc-target, or --release"
        )
    if args.rest_url and not args.rest_url.startswith(("http://", "https://")):
        raise UsageError(
            f"--rest-url {args.rest_url!r} must start with http:// or https://"
        )
    if args.grpc_target and "://" in args.grpc_target:
        raise UsageError(f"--grpc-target {args.grpc_target!r} must be host:port")
    if args.metrics_path and not args.metrics_path.startswith("/"):
        raise UsageError(f"--metrics-path {args.metrics_path!r} must start with /")
    if not 0 <= args.concurrency <= constants.MAX_CONCURRENCY:
        raise UsageError(
            f"--concurrency must be between 0 and {constants.MAX_CONCURRENCY}"
        )
    if args.wait_ready < 0:
        raise UsageError("--wait-ready must be >= 0 seconds")
    if args.max_grpc_message_mb <= 0:
        raise UsageError("--max-grpc-message-mb must be > 0")


def _load_bundle(args: argparse.Namespace) -> inputs.SampleBundle:
    if args.sample_dir is not None:
        return inputs.load(args.sample_dir)
    prefer = args.expect_versions or None
    if args.model_version is not None:
        prefer = [args.model_version]
    elif args.label and dict(args.expect_label).get(args.label) is not None:
        prefer = [dict(args.expect_label)[args.label]]
    return inputs.load(inputs.sample_dir_from_base(args.model_base_path, prefer))


def _install_sigterm() -> Any:
    """Turns SIGTERM into SystemExit so port-forwards and channels are closed."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    return signal.signal(signal.SIGTERM, handler)


def _console() -> Console:
    return Console(file=sys.stdout, width=None if sys.stdout.isatty() else 140)


def _finish(
    results: list[CheckResult], target: dict[str, Any], json_path: Path | None
) -> int:
    code = constants.EXIT_CHECK_FAILED if any(r.failed for r in results) else 0
    report.print_table(results, _console())
    if json_path is not None:
        report.write_json(json_path, report.to_dict(results, target, code))
        print(f"JSON report: {json_path}", file=sys.stderr)
    return code


def run(args: argparse.Namespace) -> int:
    """Runs the smoke test for parsed arguments; returns the exit code.

    Raises:
        UsageError: inconsistent flags or unusable inputs.
    """
    _validate(args)
    try:
        bundle = _load_bundle(args)
    except inputs.InputError as err:
        raise UsageError(str(err)) from err
    model = args.model_name or bundle.metadata.get("model_name")
    if not model:
        raise UsageError("no model name: pass --model (export metadata has none)")
    rtol, atol = bundle.tolerance
    target: dict[str, Any] = {
        "model": model,
        "sample_dir": str(bundle.directory),
        "rest_url": args.rest_url,
        "grpc_target": args.grpc_target,
        "release": args.release,
        "timeout_seconds": args.timeout,
    }
    with contextlib.ExitStack() as stack:
        rest_url, grpc_target = args.rest_url, args.grpc_target
        if args.release:
            from smoke_tests import cluster, portforward

            try:
                service = cluster.find_service(
                    args.release, args.namespace, args.context, args.timeout
                )
            except cluster.ClusterError as err:
                raise UsageError(str(err)) from err
            target["service"] = f"{service.namespace}/{service.name}"
            try:
                forward = stack.enter_context(
                    portforward.PortForward(
                        f"svc/{service.name}",
                        [constants.HTTP_PORT_NAME, constants.GRPC_PORT_NAME],
                        namespace=service.namespace,
                        context=args.context,
                    )
                )
            except portforward.PortForwardError as err:
                failed = CheckResult("port-forward", checks.FAIL, str(err))
                failed.hints = hints.find(str(err) + " Connection refused")
                return _finish([failed], target, args.json)
            rest_url = f"http://127.0.0.1:{forward.local_ports['http']}"
            grpc_target = f"127.0.0.1:{forward.local_ports['grpc']}"
            target.update(rest_url=rest_url, grpc_target=grpc_target)
        rest = grpc_client = None
        if rest_url:
            from tfserving_contract.rest_client import RestClient

            rest = RestClient(rest_url, args.timeout)
            stack.callback(rest.close)
        if grpc_target:
            from tfserving_contract.grpc_client import GrpcClient

            grpc_client = stack.enter_context(
                GrpcClient(grpc_target, args.timeout, args.max_grpc_message_mb)
            )
        config = SmokeConfig(
            model=model,
            bundle=bundle,
            rest=rest,
            grpc=grpc_client,
            expect_versions=args.expect_versions,
            expect_labels=dict(args.expect_label),
            version=args.model_version,
            label=args.label,
            metrics_path=args.metrics_path,
            rtol=args.rtol if args.rtol is not None else rtol,
            atol=args.atol if args.atol is not None else atol,
            fail_on_version_errors=args.fail_on_version_errors,
            wait_ready=args.wait_ready,
            concurrency=args.concurrency,
        )
        try:
            smoke_run = SmokeRun(config)
        except signature.SignatureError as err:
            raise UsageError(f"{bundle.directory}: export metadata: {err}") from err
        results = smoke_run.run()
        return _finish(results, target, args.json)


def main(argv: list[str] | None = None) -> int:
    """Parses flags, runs the smoke test and returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    options.setup_logging(args)
    previous = _install_sigterm()
    try:
        return run(args)
    except UsageError as err:
        print(f"tfs-smoke: error: {err}", file=sys.stderr)
        return constants.EXIT_USAGE
    except KeyboardInterrupt:
        print("tfs-smoke: interrupted", file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    raise SystemExit(main())
