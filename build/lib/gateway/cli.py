"""Command line of the gateway: ``python -m gateway`` / ``tfs-gateway``.

Typical usage example:

    tfs-gateway --grpc-target 127.0.0.1:8500 --model-name fashion_mnist \
        --model-base-path models/fashion_mnist --port 8080
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from gateway import constants
from gateway.labels import ClassNames, ClassNamesError
from tfserving_contract import options

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    """Flags of the gateway."""
    parser = argparse.ArgumentParser(
        prog="tfs-gateway",
        description="HTTP gateway and upload page in front of TF Serving (gRPC).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        parents=[options.logging_parser()],
    )
    parser.add_argument("--host", default=constants.DEFAULT_HOST, help="listen address")
    parser.add_argument(
        "--port", type=options.positive(int), default=constants.DEFAULT_PORT,
        help="listen port",
    )  # fmt: skip
    options.add_grpc_target(
        parser, default=constants.DEFAULT_TFS_TARGET, help="TF Serving gRPC host:port"
    )
    options.add_model_name(parser, required=True, help="served model")
    parser.add_argument(
        "--signature-name",
        default=constants.DEFAULT_SIGNATURE,
        help="signature to call",
    )
    options.add_model_base_path(
        parser,
        help="mounted model base path; class names come from each version's "
        "assets.extra/export_metadata.json",
    )
    parser.add_argument(
        "--class-names-file",
        type=Path,
        help="JSON list or one name per line; overrides the export metadata",
    )
    parser.add_argument(
        "--top-k",
        type=options.positive(int),
        default=constants.DEFAULT_TOP_K,
        help="labels returned",
    )
    parser.add_argument(
        "--max-upload-bytes",
        type=options.positive(int),
        default=constants.DEFAULT_MAX_UPLOAD_BYTES,
        help="largest accepted upload (413 above)",
    )
    parser.add_argument(
        "--max-pixels",
        type=options.positive(int),
        default=constants.DEFAULT_MAX_PIXELS,
        help="largest accepted width x height (413 above)",
    )
    options.add_timeout(
        parser,
        default=constants.DEFAULT_TIMEOUT_S,
        help="deadline of each gRPC call in seconds",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Serves until interrupted; 2 on bad configuration."""
    parser = build_parser()
    args = parser.parse_args(argv)
    options.setup_logging(args)
    try:
        names = ClassNames(args.model_base_path, args.class_names_file)
    except ClassNamesError as err:
        parser.error(f"{err}; fix or drop --class-names-file")
    import uvicorn

    from gateway.app import Limits, create_app
    from gateway.serving import ServingModel
    from tfserving_contract.grpc_client import GrpcClient

    client = GrpcClient(
        args.grpc_target, args.timeout, constants.DEFAULT_MAX_MESSAGE_MB
    )
    model = ServingModel(client, args.model_name, args.signature_name)
    limits = Limits(args.max_upload_bytes, args.max_pixels, args.top_k)
    app = create_app(model, names, limits)
    uvicorn.run(
        app, host=args.host, port=args.port, log_level=options.log_level(args).lower()
    )
    return 0
