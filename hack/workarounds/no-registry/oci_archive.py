"""Write a single-layer OCI image archive from local files (no registry, no Docker).

Usage: python3 hack/workarounds/no-registry/oci_archive.py \
    --name tfserving.local/pause:1 --add /tmp/pause:/pause --entrypoint /pause \
    --output pause.tar

The archive follows the OCI image layout (oci-layout, index.json, blobs/sha256/*)
and names the image with the org.opencontainers.image.ref.name and
io.containerd.image.name annotations, so `ctr -n k8s.io images import` tags it.
Standard library only: the cluster scripts run it with the system python3.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import logging
import sys
import tarfile
from pathlib import Path

logger = logging.getLogger(__name__)

MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
EPOCH = 0


def parse_add(spec: str) -> tuple[Path, str]:
    """Split an --add value SRC:DEST into a source path and an in-image path."""
    if ":" not in spec:
        raise argparse.ArgumentTypeError(
            f"--add {spec!r}: expected SRC:DEST, e.g. /tmp/pause:/pause"
        )
    src, dest = spec.split(":", 1)
    if not dest.startswith("/"):
        raise argparse.ArgumentTypeError(
            f"--add {spec!r}: DEST must be absolute, e.g. /pause"
        )
    path = Path(src)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"--add {spec!r}: {src} is not a file")
    return path, dest


def parse_symlink(spec: str) -> tuple[str, str]:
    """Split a --symlink value DEST:TARGET into the link path and its target."""
    if ":" not in spec or not spec.startswith("/"):
        raise argparse.ArgumentTypeError(
            f"--symlink {spec!r}: expected /DEST:TARGET, e.g. /bin/sh:busybox"
        )
    dest, target = spec.split(":", 1)
    return dest, target


def add_parents(tar: tarfile.TarFile, parts: list[str], seen: set[str]) -> None:
    """Add the directory entries above a path once each."""
    for depth in range(1, len(parts)):
        directory = "/".join(parts[:depth])
        if directory not in seen:
            seen.add(directory)
            info = tarfile.TarInfo(directory)
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            info.mtime = EPOCH
            tar.addfile(info)


def build_layer(
    files: list[tuple[Path, str]], symlinks: list[tuple[str, str]]
) -> tuple[bytes, str]:
    """Return (gzipped layer, diff id) of the files and links plus parent dirs."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        seen: set[str] = set()
        for dest, target in symlinks:
            parts = dest.strip("/").split("/")
            add_parents(tar, parts, seen)
            info = tarfile.TarInfo("/".join(parts))
            info.type = tarfile.SYMTYPE
            info.linkname = target
            info.mtime = EPOCH
            tar.addfile(info)
        for src, dest in files:
            parts = dest.strip("/").split("/")
            add_parents(tar, parts, seen)
            data = src.read_bytes()
            info = tarfile.TarInfo("/".join(parts))
            info.size = len(data)
            info.mode = src.stat().st_mode & 0o777
            info.mtime = EPOCH
            tar.addfile(info, io.BytesIO(data))
    uncompressed = raw.getvalue()
    diff_id = "sha256:" + hashlib.sha256(uncompressed).hexdigest()
    return gzip.compress(uncompressed, compresslevel=1, mtime=EPOCH), diff_id


def descriptor(media_type: str, blob: bytes) -> dict:
    """Return an OCI content descriptor for a blob."""
    return {
        "mediaType": media_type,
        "digest": "sha256:" + hashlib.sha256(blob).hexdigest(),
        "size": len(blob),
    }


def write_archive(
    names: list[str],
    files: list[tuple[Path, str]],
    symlinks: list[tuple[str, str]],
    entrypoint: list[str],
    output: Path,
    env: list[str] | None = None,
) -> str:
    """Write the OCI archive and return the manifest digest."""
    layer, diff_id = build_layer(files, symlinks)
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "Entrypoint": entrypoint,
            "WorkingDir": "/",
            "Env": env or ["PATH=/bin"],
        },
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created_by": "hack/workarounds/no-registry/oci_archive.py"}],
    }
    config_blob = json.dumps(config, sort_keys=True).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": MEDIA_MANIFEST,
        "config": descriptor(MEDIA_CONFIG, config_blob),
        "layers": [descriptor(MEDIA_LAYER, layer)],
    }
    manifest_blob = json.dumps(manifest, sort_keys=True).encode()
    manifests = []
    for name in names:
        manifest_desc = descriptor(MEDIA_MANIFEST, manifest_blob)
        manifest_desc["annotations"] = {
            "io.containerd.image.name": name,
            "org.opencontainers.image.ref.name": name.rsplit(":", 1)[-1],
        }
        manifest_desc["platform"] = {"architecture": "amd64", "os": "linux"}
        manifests.append(manifest_desc)
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": manifests,
    }
    members = {
        "oci-layout": json.dumps({"imageLayoutVersion": "1.0.0"}).encode(),
        "index.json": json.dumps(index, sort_keys=True).encode(),
    }
    for blob in (layer, config_blob, manifest_blob):
        members["blobs/sha256/" + hashlib.sha256(blob).hexdigest()] = blob
    output.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(output, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for directory in ("blobs", "blobs/sha256"):
            info = tarfile.TarInfo(directory)
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            info.mtime = EPOCH
            tar.addfile(info)
        for member, data in members.items():
            info = tarfile.TarInfo(member)
            info.size = len(data)
            info.mode = 0o644
            info.mtime = EPOCH
            tar.addfile(info, io.BytesIO(data))
    return manifests[0]["digest"]


def main(argv: list[str] | None = None) -> int:
    """Parse flags, write the archive and print its path and manifest digest."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument(
        "--name",
        action="append",
        required=True,
        help="image reference, e.g. tfserving.local/pause:1 (repeat to add tags)",
    )
    parser.add_argument(
        "--add",
        action="append",
        type=parse_add,
        required=True,
        help="SRC:DEST file to add",
    )
    parser.add_argument(
        "--symlink",
        action="append",
        type=parse_symlink,
        default=[],
        help="/DEST:TARGET link",
    )
    parser.add_argument(
        "--entrypoint", action="append", required=True, help="entrypoint argv element"
    )
    parser.add_argument(
        "--env", action="append", default=[], help="KEY=value for the image config"
    )
    parser.add_argument(
        "--output", type=Path, required=True, help="archive path to write"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[oci-archive] %(message)s")
    digest = write_archive(
        args.name, args.add, args.symlink, args.entrypoint, args.output, args.env
    )
    logger.info("wrote %s (%s) as %s", args.output, args.name, digest)
    print(args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
