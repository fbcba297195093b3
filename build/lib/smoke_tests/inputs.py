"""Load the sample request, golden outputs and export metadata of a version.

Reads ``<base>/<N>/assets.extra/{sample_request,golden_outputs,export_metadata}.json``
as written by model_export.

Typical usage example:

    bundle = inputs.load(inputs.sample_dir_from_base(Path("models/fashion_mnist")))
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smoke_tests import constants
from tfserving_contract import layout


class InputError(ValueError):
    """The sample directory or base path is missing or malformed."""


@dataclass
class SampleBundle:
    """What the smoke test needs from one exported version."""

    directory: Path
    sample: dict[str, Any]
    golden: dict[str, Any]
    metadata: dict[str, Any]

    @property
    def version(self) -> int | None:
        """Returns the exported version number, if recorded."""
        value = self.metadata.get("version")
        if value is None:
            return layout.parse_version(self.directory.parent.name)
        return int(value) if value is not None else None

    @property
    def signature_name(self) -> str:
        """Returns the signature the sample targets."""
        return str(
            self.sample.get("signature_name")
            or self.metadata.get("signature_name")
            or constants.DEFAULT_SIGNATURE
        )

    @property
    def tolerance(self) -> tuple[float, float]:
        """Returns (rtol, atol) from export metadata, or the float32 defaults."""
        tol = self.metadata.get("tolerance") or {}
        return (
            float(tol.get("rtol", constants.DEFAULT_RTOL)),
            float(tol.get("atol", constants.DEFAULT_ATOL)),
        )


def version_dirs(base_path: Path) -> dict[int, Path]:
    """Returns the version directories under a base path as TF Serving reads them.

    Raises:
        InputError: not a directory, or two children are one version.
    """
    try:
        return layout.version_dirs(base_path)
    except layout.LayoutError as exc:
        raise InputError(str(exc)) from exc


def sample_dir_from_base(base_path: Path, prefer: list[int] | None = None) -> Path:
    """Returns ``<base>/<N>/assets.extra`` of the newest version that has a sample.

    Args:
        base_path: the model base path.
        prefer: versions to choose from (e.g. the expected ones); newest wins.

    Raises:
        InputError: no (preferred) version holds a sample request.
    """
    versions = version_dirs(base_path)
    candidates = [v for v in versions if prefer is None or v in prefer]
    for version in reversed(candidates):
        directory = layout.assets_extra(versions[version])
        if (directory / layout.SAMPLE_REQUEST_FILE).is_file():
            return directory
    raise InputError(
        f"no version under {base_path} (found {list(versions) or 'none'}"
        + (f", wanted {prefer}" if prefer else "")
        + f") has {layout.ASSETS_EXTRA}/{layout.SAMPLE_REQUEST_FILE}; "
        "export the model with model_export or pass --sample-dir"
    )


def _read_json(path: Path, required: bool) -> dict[str, Any]:
    if not path.is_file():
        if required:
            raise InputError(f"{path} is missing; pass the assets.extra directory")
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise InputError(f"{path} is not valid JSON: {err}") from err
    if not isinstance(data, dict):
        raise InputError(f"{path} must hold a JSON object")
    return data


def load(directory: Path) -> SampleBundle:
    """Reads the three JSON files of an ``assets.extra`` directory.

    Raises:
        InputError: sample_request.json is missing or a file is malformed.
    """
    if not directory.is_dir():
        raise InputError(f"sample directory {directory} does not exist")
    return SampleBundle(
        directory=directory,
        sample=_read_json(directory / layout.SAMPLE_REQUEST_FILE, required=True),
        golden=_read_json(directory / layout.GOLDEN_OUTPUTS_FILE, required=False),
        metadata=_read_json(directory / layout.EXPORT_METADATA_FILE, required=False),
    )
