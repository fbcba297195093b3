"""Version selection and atomic placement into ``<dest>/<version>``.

Every version is assembled in ``<dest>/.tmp-<uuid>`` (non-numeric, so TF Serving
ignores it), checked to hold ``saved_model.pb`` (or ``.pbtxt``), then renamed to its
number. An existing version directory is never touched.

Typical usage example:

    wanted = select_versions([1, 2, 3], versions=None, latest=2)   # [2, 3]
    with staging(dest) as tmp:
        ...download into tmp...
        place(tmp, dest, 3)
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

from model_fetch.errors import FetchError
from tfserving_contract import layout

SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")


def select_versions(
    available: list[int], versions: list[int] | None, latest: int | None
) -> list[int]:
    """The versions to fetch, ascending.

    Raises:
        FetchError: none available, or a requested version is missing.
    """
    if not available:
        raise FetchError(
            "the source holds no numbered version directories (<prefix>/<N>/"
            "saved_model.pb): check the URL's prefix"
        )
    if versions:
        missing = sorted(set(versions) - set(available))
        if missing:
            raise FetchError(
                f"versions {missing} are not in the source "
                f"(it has {sorted(available)}); fix --versions"
            )
        return sorted(set(versions))
    ordered = sorted(available)
    return ordered[-latest:] if latest else ordered


@contextlib.contextmanager
def staging(dest: Path) -> Iterator[Path]:
    """A fresh ``<dest>/.tmp-<uuid>`` removed on exit unless it was placed."""
    dest.mkdir(parents=True, exist_ok=True)
    tmp = dest / f".tmp-{uuid.uuid4().hex}"
    tmp.mkdir()
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def place(version_dir: Path, dest: Path, version: int) -> Path:
    """Renames a complete version directory to ``<dest>/<version>``.

    Raises:
        FetchError: no saved_model.pb/.pbtxt inside.
    """
    if not any((version_dir / name).is_file() for name in SAVED_MODEL_FILES):
        raise FetchError(
            f"version {version} has no saved_model.pb or saved_model.pbtxt at its "
            "root; upload the whole SavedModel directory as <prefix>/<version>/"
        )
    for root, dirs, files in os.walk(version_dir):
        for name in dirs:
            os.chmod(Path(root) / name, 0o755)
        for name in files:
            os.chmod(Path(root) / name, 0o644)
    os.chmod(version_dir, 0o755)
    target = dest / str(version)
    os.rename(version_dir, target)
    return target


def present_versions(dest: Path) -> set[int]:
    """Version numbers already complete in dest.

    Raises:
        FetchError: two children of dest are one version (``7`` and ``007``).
    """
    if not dest.is_dir():
        return set()
    try:
        return set(layout.version_dirs(dest))
    except layout.LayoutError as err:
        raise FetchError(str(err)) from err
