"""Command line for exporting models in TF Serving's layout.

Typical usage example:

    python -m model_export train --model-base-path models/fashion_mnist
    python -m model_export convert model.keras --model-base-path models/my_model
    python -m model_export resnet50 --model-base-path models/resnet50 \
        --image-bytes-signature
    python -m model_export inspect models/fashion_mnist --json
"""

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from model_export import constants
from model_export.errors import ExportError
from tfserving_contract import headroom, options

logger = logging.getLogger(__name__)

EXIT_USAGE = 2
EXPORT_UNLOAD_HINT = (
    "make the swap a pod rollout (server.fileSystemPollWaitSeconds: 0, then "
    "`kubectl rollout restart`: each new pod loads only the newest version), or "
    "unload the old version first (a short outage for this model)"
)
# Top-level modules of the `export` extra, absent after a plain `pip install .`.
EXPORT_EXTRA_MODULES = frozenset(
    {"tensorflow", "tensorflow_serving", "keras", "sklearn"}
)


def _version(text: str) -> int:
    from model_export.publish import parse_version

    try:
        return parse_version(text)
    except ExportError as err:
        raise argparse.ArgumentTypeError(str(err)) from err


def _warmup_count(text: str) -> int:
    from model_export.warmup import check_warmup_count

    count = options.positive(int)(text)
    try:
        check_warmup_count(count)
    except ExportError as err:
        raise argparse.ArgumentTypeError(str(err)) from err
    return count


def _add_publish_flags(parser: argparse.ArgumentParser, base_path: str | None) -> None:
    options.add_model_base_path(
        parser,
        default=base_path,
        required=base_path is None,
        help="directory that holds the numbered versions (created if missing)",
    )
    parser.add_argument(
        "--version",
        type=_version,
        default=None,
        help="version number to publish; default: highest existing + 1",
    )
    parser.add_argument(
        "--warmup-records",
        type=_warmup_count,
        default=constants.DEFAULT_WARMUP_RECORDS,
        help=f"warmup requests to write (1..{constants.MAX_WARMUP_RECORDS})",
    )
    options.add_model_name(
        parser, help="model name used in warmup requests; default: the base path's name"
    )
    parser.add_argument(
        "--latest-versions",
        type=options.positive(int),
        default=1,
        help="the server's model.latestVersions: decides which versions stay "
        "loaded while the new one loads",
    )
    headroom.add_flags(
        parser,
        limit_help="the tf-serving container's resources.limits.memory (e.g. 512Mi); "
        "without it the memory check only warns that it cannot check",
    )


def _memory_settings(args: argparse.Namespace) -> headroom.Settings:
    return headroom.Settings(
        mode=args.memory_check,
        limit_bytes=args.memory_limit,
        baseline_bytes=args.server_memory_baseline,
        unload_hint=EXPORT_UNLOAD_HINT,
    )


def build_parser() -> argparse.ArgumentParser:
    """Returns the argument parser with its four subcommands."""
    fmt = argparse.ArgumentDefaultsHelpFormatter
    parser = argparse.ArgumentParser(
        prog="tfs-export",
        description="Export Keras models as numbered TF Serving SavedModel versions.",
        formatter_class=fmt,
        parents=[options.logging_parser()],
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = sub.add_parser(
        "train", help="train the fashion-MNIST CNN and publish it", formatter_class=fmt
    )
    _add_publish_flags(train, constants.DEFAULT_BASE_PATH)
    train.add_argument(
        "--epochs",
        type=options.positive(int),
        default=constants.DEFAULT_EPOCHS,
        help="training epochs",
    )
    train.add_argument(
        "--dataset",
        choices=constants.DATASET_CHOICES,
        default=constants.DEFAULT_DATASET,
        help="auto tries fashion-MNIST, then falls back to scikit-learn's digits",
    )
    train.add_argument(
        "--max-train-samples",
        type=options.positive(int),
        default=None,
        help="use at most this many training rows (quick runs)",
    )
    train.add_argument(
        "--batch-size",
        type=options.positive(int),
        default=constants.DEFAULT_BATCH_SIZE,
        help="training batch size",
    )
    train.add_argument(
        "--seed",
        type=int,
        default=constants.DEFAULT_SEED,
        help="seed for weights and shuffling",
    )

    convert = sub.add_parser(
        "convert",
        help="publish an existing .keras, .h5 or SavedModel",
        formatter_class=fmt,
    )
    convert.add_argument(
        "model", type=Path, help="a .keras or .h5 file, or a SavedModel directory"
    )
    _add_publish_flags(convert, None)
    convert.add_argument(
        "--class-names",
        default=None,
        help="comma-separated class names to record in export_metadata.json",
    )

    resnet = sub.add_parser(
        "resnet50", help="export Keras' ResNet50", formatter_class=fmt
    )
    _add_publish_flags(resnet, constants.RESNET_BASE_PATH)
    resnet.add_argument(
        "--weights",
        choices=constants.RESNET_WEIGHTS_CHOICES,
        default="auto",
        help="auto uses ImageNet weights when downloadable, else random weights",
    )
    resnet.add_argument(
        "--image-bytes-signature",
        action="store_true",
        help="serving_default as in TF Serving's ResNet tutorials: 'image_bytes' "
        "(encoded JPEG/PNG, REST {'b64': ...}) -> 'classes' (int64), "
        "'probabilities'",
    )
    resnet.add_argument(
        "--input-size",
        type=options.positive(int),
        default=constants.RESNET_INPUT_SIZE,
        help="square input side in pixels; not 224 implies random weights",
    )

    inspect = sub.add_parser(
        "inspect",
        help="show the signatures of a version (newest under a base path)",
        formatter_class=fmt,
    )
    inspect.add_argument("path", type=Path, help="a base path or a version directory")
    inspect.add_argument("--json", action="store_true", help="print JSON")
    return parser


def _run(args: argparse.Namespace) -> int:
    from model_export import inspection

    if args.command == "inspect":
        report = inspection.inspect_path(args.path)
        if args.json:
            print(json.dumps(report, indent=2))
        else:
            print(inspection.format_report(report))
        return 0
    common = {
        "version": args.version,
        "warmup_records": args.warmup_records,
        "model_name": args.model_name,
        "memory": _memory_settings(args),
        "latest_versions": args.latest_versions,
    }
    if args.command == "train":
        from model_export.train import train_and_publish

        version_dir = train_and_publish(
            args.model_base_path,
            epochs=args.epochs,
            dataset=args.dataset,
            max_train_samples=args.max_train_samples,
            batch_size=args.batch_size,
            seed=args.seed,
            **common,
        )
    elif args.command == "convert":
        from model_export.convert import convert_and_publish

        names = args.class_names.split(",") if args.class_names else None
        version_dir = convert_and_publish(
            args.model, args.model_base_path, class_names=names, **common
        )
    else:
        from model_export.resnet import export_resnet50

        version_dir = export_resnet50(
            args.model_base_path,
            weights=args.weights,
            image_bytes=args.image_bytes_signature,
            input_size=args.input_size,
            **common,
        )
    print(inspection.format_report(inspection.inspect_path(version_dir)))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Runs the CLI.

    Args:
        argv: Arguments without the program name; default sys.argv[1:].

    Returns:
        0 on success, 2 on a usage or input error (message on stderr).
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = build_parser()
    args = parser.parse_args(argv)
    options.setup_logging(args)
    logging.getLogger("tensorflow").setLevel(logging.WARNING)
    try:
        return _run(args)
    except ExportError as err:
        print(f"tfs-export: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except ModuleNotFoundError as err:
        if (err.name or "").split(".")[0] not in EXPORT_EXTRA_MODULES:
            raise
        print(
            f"tfs-export: error: {err.name} is not installed; tfs-export needs the "
            "export extra: pip install 'tf-serving-k8s[export]' (or `make deps`)",
            file=sys.stderr,
        )
        return EXIT_USAGE


if __name__ == "__main__":
    raise SystemExit(main())
