"""Fetching: object-store prefixes and HTTP(S) tarballs into ``<dest>/<version>``.

Typical usage example:

    placed = fetch_prefix(store, Path("/models/fashion_mnist"), versions=None, latest=1)
    placed = fetch_tarball("https://host/m.tar.gz", dest, sha256="ab..", ...)
"""

from __future__ import annotations

import hashlib
import logging
import tarfile
from pathlib import Path

import requests

from model_fetch import checksums
from model_fetch.errors import FetchError
from model_fetch.layout import place, present_versions, select_versions, staging
from model_fetch.stores import ObjectStore
from tfserving_contract import layout

log = logging.getLogger(__name__)


def group_by_version(keys: list[str]) -> dict[int, list[str]]:
    """Keys of the form ``<N>/...`` grouped by N (other keys are ignored)."""
    groups: dict[int, list[str]] = {}
    for key in keys:
        head, _, rest = key.partition("/")
        version = layout.parse_version(head)
        if version is not None and rest and not key.endswith("/"):
            groups.setdefault(version, []).append(key)
    return groups


def fetch_prefix(
    store: ObjectStore, dest: Path, versions: list[int] | None, latest: int | None
) -> list[int]:
    """Downloads the selected versions that dest lacks; returns those placed."""
    objects = store.list()
    manifest = (
        checksums.parse_manifest(store.read_text(checksums.MANIFEST_NAME))
        if checksums.MANIFEST_NAME in objects
        else None
    )
    groups = group_by_version(list(objects))
    placed = []
    for version in select_versions(list(groups), versions, latest):
        if version in present_versions(dest):
            log.info("version %d already in %s: left as is", version, dest)
            continue
        with staging(dest) as tmp:
            root = tmp / str(version)
            for key in groups[version]:
                path = tmp / key
                path.parent.mkdir(parents=True, exist_ok=True)
                store.download(key, path)
                verify(path, key, objects[key].md5, manifest)
            place(root, dest, version)
        placed.append(version)
        log.info(
            "placed version %d (%d files) in %s", version, len(groups[version]), dest
        )
    return placed


def verify(
    path: Path, key: str, md5: str | None, manifest: dict[str, str] | None
) -> None:
    """Checks a downloaded object against the manifest, else its store MD5."""
    if manifest is not None:
        if key not in manifest:
            raise FetchError(
                f"{key} is not listed in {checksums.MANIFEST_NAME}: regenerate the "
                "manifest after uploading, or remove the stray object"
            )
        checksums.verify_file(path, manifest[key], "sha256", key)
    elif md5:
        checksums.verify_file(path, md5, "md5", key)


def fetch_tarball(
    url: str,
    dest: Path,
    sha256: str | None,
    versions: list[int] | None,
    latest: int | None,
    timeout: float,
) -> list[int]:
    """Downloads a .tar(.gz) of ``<N>/`` directories; places the selected versions."""
    with staging(dest) as tmp:
        archive = tmp / "download"
        digest = hashlib.sha256()
        try:
            with requests.get(url, stream=True, timeout=timeout) as reply:
                if reply.status_code != 200:
                    raise FetchError(
                        f"GET {url} answered HTTP {reply.status_code}: "
                        "check the URL and that it needs no credentials"
                    )
                with archive.open("wb") as handle:
                    for chunk in reply.iter_content(checksums.CHUNK):
                        digest.update(chunk)
                        handle.write(chunk)
        except requests.RequestException as err:
            raise FetchError(f"cannot download {url}: {err}") from err
        if sha256 and digest.hexdigest() != sha256.lower():
            raise FetchError(
                f"checksum mismatch for {url}: sha256 {digest.hexdigest()}, expected "
                f"{sha256}; the file changed: update --sha256 or re-upload"
            )
        root = extract(archive, tmp / "extract")
        try:
            available = layout.version_dirs(root)
        except layout.LayoutError as err:
            raise FetchError(f"in {url}: {err}") from err
        placed = []
        for version in select_versions(list(available), versions, latest):
            if version in present_versions(dest):
                log.info("version %d already in %s: left as is", version, dest)
                continue
            place(available[version], dest, version)
            placed.append(version)
        return placed


def extract(archive: Path, into: Path) -> Path:
    """Safely extracts a tarball; returns the directory holding the versions.

    Raises:
        FetchError: not a tarball, or a member escaping the target (absolute
            path, ``..``, links outside, devices).
    """
    into.mkdir()
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(into, filter="data")
    except tarfile.FilterError as err:
        raise FetchError(
            f"unsafe tarball member ({err}): rebuild the archive with relative paths "
            "such as 1/saved_model.pb"
        ) from err
    except tarfile.TarError as err:
        raise FetchError(f"not a readable tar archive: {err}") from err
    entries = list(into.iterdir())
    if (
        len(entries) == 1
        and entries[0].is_dir()
        and layout.parse_version(entries[0].name) is None
    ):
        return entries[0]
    return into
