"""Checksums of fetched files: a SHA256SUMS manifest, object MD5s, tarball SHA-256.

A ``SHA256SUMS`` object at the root of the source prefix lists
``<sha256>  <version>/<path>`` lines (``sha256sum`` output run from the prefix).
When it exists, every fetched file must be listed and match.

Typical usage example:

    sums = parse_manifest(text)
    verify_file(path, sums["1/saved_model.pb"], "1/saved_model.pb")
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from model_fetch.errors import FetchError

MANIFEST_NAME = "SHA256SUMS"
CHUNK = 1 << 20


def file_digest(path: Path, algorithm: str) -> str:
    """Hex digest of a file."""
    digest = hashlib.new(algorithm)
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def parse_manifest(text: str) -> dict[str, str]:
    """Relative path -> sha256 from ``sha256sum`` output.

    Raises:
        FetchError: a line is not ``<64 hex>  <path>``.
    """
    sums: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        digest, _, name = line.partition(" ")
        name = name.lstrip(" *").strip()
        if (
            len(digest) != 64
            or not name
            or any(c not in "0123456789abcdef" for c in digest)
        ):
            raise FetchError(
                f"{MANIFEST_NAME} line {number} is not '<sha256>  <path>': {line!r}; "
                f"regenerate it with `sha256sum */... > {MANIFEST_NAME}` in the prefix"
            )
        sums[name.removeprefix("./")] = digest
    return sums


def verify_file(path: Path, expected: str, algorithm: str, name: str) -> None:
    """Raises FetchError when the file's digest differs from `expected`."""
    actual = file_digest(path, algorithm)
    if actual != expected.lower():
        raise FetchError(
            f"checksum mismatch for {name}: {algorithm} {actual}, expected {expected}; "
            "the object changed or was corrupted in transit: upload it again (and its "
            f"{MANIFEST_NAME} line)"
        )
