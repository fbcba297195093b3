"""Class names for the model's output indexes.

They come from the export metadata of the version that answered
(``<model base path>/<version>/assets.extra/export_metadata.json``, key
``class_names``, written by model_export) when the model volume is mounted, else
from a JSON list or one-name-per-line file, else the indexes themselves.

Typical usage example:

    names = ClassNames(model_base_path=Path("/models/fashion_mnist"))
    names.for_version(2)[7]
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from tfserving_contract import layout

log = logging.getLogger(__name__)


class ClassNamesError(ValueError):
    """A class-names file exists but cannot be read."""


def read_names_file(path: Path) -> list[str]:
    """Reads a JSON list of names or a text file with one name per line.

    Raises:
        ClassNamesError: unreadable, or neither format.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ClassNamesError(f"cannot read class names from {path}: {err}") from err
    if text.lstrip().startswith("["):
        try:
            names = json.loads(text)
        except json.JSONDecodeError as err:
            raise ClassNamesError(f"{path} is not a JSON list: {err}") from err
        if not isinstance(names, list):
            raise ClassNamesError(f"{path} must hold a JSON list of names")
        return [str(n) for n in names]
    return [line.strip() for line in text.splitlines() if line.strip()]


class ClassNames:
    """Looks up class names per model version, caching what it read."""

    def __init__(
        self, model_base_path: Path | None = None, names_file: Path | None = None
    ) -> None:
        self.model_base_path = model_base_path
        self.fixed = read_names_file(names_file) if names_file else None
        self._by_version: dict[int, list[str] | None] = {}

    def for_version(self, version: int) -> list[str] | None:
        """Names for `version`, or None when nothing provides them."""
        if self.fixed is not None:
            return self.fixed
        if self.model_base_path is None:
            return None
        if version not in self._by_version:
            self._by_version[version] = self._from_metadata(version)
        return self._by_version[version]

    def _from_metadata(self, version: int) -> list[str] | None:
        try:
            version_dir = layout.version_paths(self.model_base_path)[version]
            path = layout.assets_extra(version_dir) / layout.EXPORT_METADATA_FILE
            names = json.loads(path.read_text(encoding="utf-8")).get("class_names")
        except (KeyError, OSError, ValueError) as err:
            log.warning(
                "no class names for version %d (%s): using indexes", version, err
            )
            return None
        return [str(n) for n in names] if isinstance(names, list) else None


def label(names: list[str] | None, index: int) -> str:
    """Name of output `index`, or the index as text when unnamed."""
    if names is not None and 0 <= index < len(names):
        return names[index]
    return str(index)
