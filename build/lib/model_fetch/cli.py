"""Command line: ``tfs-fetch`` / ``python -m model_fetch`` (the chart's init container).

Typical usage example:

    tfs-fetch --source s3://models/fashion_mnist --dest /models/fashion_mnist --latest 2
    tfs-fetch --source https://host/m.tar.gz --sha256 ab12... --dest /models/m
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from pathlib import Path

from model_fetch.errors import FetchError
from model_fetch.fetch import fetch_prefix, fetch_tarball
from model_fetch.layout import present_versions
from model_fetch.stores import open_store, parse_source
from tfserving_contract import options

log = logging.getLogger(__name__)

ENV_NAME = re.compile(r"[A-Z][A-Z0-9_]*")


def load_credentials(directory: Path) -> list[str]:
    """Exports each ``NAME`` file of a mounted Secret as $NAME (unless already set).

    Raises:
        FetchError: the directory does not exist.
    """
    if not directory.is_dir():
        raise FetchError(
            f"--credentials-dir {directory} is not a directory: mount the Secret there"
        )
    loaded = []
    for path in sorted(directory.iterdir()):
        if ENV_NAME.fullmatch(path.name) and path.is_file():
            os.environ.setdefault(path.name, path.read_text().strip())
            loaded.append(path.name)
    return loaded


def build_parser() -> argparse.ArgumentParser:
    """Flags of tfs-fetch."""
    parser = argparse.ArgumentParser(
        prog="tfs-fetch",
        description="Fetch numbered SavedModel versions into a model base path, "
        "verified and placed atomically.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        parents=[options.logging_parser(default_level="WARNING")],
    )
    parser.add_argument(
        "--source",
        required=True,
        help="s3://bucket/prefix, gs://bucket/prefix or https://…/model.tar.gz",
    )
    options.add_model_base_path(
        parser,
        required=True,
        aliases=("--dest",),
        help="model base path to fill (<path>/<N>)",
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--versions", type=options.version_list, help="only these, e.g. 1,2"
    )
    which.add_argument(
        "--latest", type=options.positive(int), help="only the newest N versions"
    )
    parser.add_argument(
        "--endpoint-url",
        default=os.environ.get("AWS_ENDPOINT_URL"),
        help="S3-compatible endpoint (MinIO, Ceph); default $AWS_ENDPOINT_URL or AWS",
    )
    parser.add_argument(
        "--credentials-dir",
        type=Path,
        help="directory of files named like environment variables (a mounted "
        "Secret: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, ...); set ones win",
    )
    parser.add_argument("--sha256", help="expected SHA-256 of an https:// tarball")
    options.add_timeout(parser, default=60.0, help="network timeout in seconds")
    return parser


def main(argv: list[str] | None = None) -> int:
    """0 on success, 1 when fetching failed, 2 on usage errors."""
    parser = build_parser()
    args = parser.parse_args(argv)
    options.setup_logging(args)
    try:
        if args.credentials_dir:
            log.info("credentials from %s", load_credentials(args.credentials_dir))
        source = parse_source(args.source)
        if source.scheme in ("http", "https"):
            placed = fetch_tarball(
                source.url,
                args.model_base_path,
                args.sha256,
                args.versions,
                args.latest,
                args.timeout,
            )
        else:
            if args.sha256:
                parser.error(
                    "--sha256 is for https:// tarballs; buckets use SHA256SUMS"
                )
            store = open_store(source, args.endpoint_url, args.timeout)
            placed = fetch_prefix(
                store, args.model_base_path, args.versions, args.latest
            )
    except FetchError as err:
        print(f"tfs-fetch: error: {err}", file=sys.stderr)
        return 1
    present = sorted(present_versions(args.model_base_path))
    print(
        f"fetched versions {placed} into {args.model_base_path}; present now: {present}"
    )
    return 0
