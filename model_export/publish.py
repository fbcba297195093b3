"""Publishes a SavedModel as the next numbered version, atomically.

The model is written into a non-numeric staging directory under the base path
(TF Serving ignores it), assets.extra is filled in, the copy is loaded back and
checked, its resident memory measured in a child process (memory_probe) and
checked against the container's limit (tfserving_contract.headroom), and only
then renamed to `<base_path>/<N>`. Any failure removes the
staging directory, so no numeric directory ever holds a partial export.

Typical usage example:

    request = PublishRequest(
        base_path=Path("models/fashion_mnist"),
        write_model=save,
        sample_inputs={"image": x},
        reference_outputs={"probabilities": y},
    )
    version_dir = publish(request)
"""

import base64
import dataclasses
import datetime
import json
import logging
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np
import tensorflow as tf

from model_export import constants, memory_probe, signatures, warmup
from model_export.errors import ExportError
from tfserving_contract import headroom, layout

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class PublishRequest:
    """Everything publish() needs.

    Attributes:
        base_path: Directory holding numbered versions; created if missing.
        write_model: Writes a SavedModel into the directory it is given.
        sample_inputs: Signature input key -> batch of sample rows.
        reference_outputs: Output key -> the in-memory model's outputs for the
            sample, used to validate the exported copy.
        version: Explicit version, or None for max existing + 1.
        model_name: Name used in warmup requests; defaults to the base path name.
        warmup_records: Number of warmup records (1..1000).
        rtol: Relative tolerance for validation and for golden output checks.
        atol: Absolute tolerance.
        metadata: Extra fields for export_metadata.json (dataset, accuracy, ...).
        memory: How to check the swap's memory against the container's limit.
        latest_versions: The server's `latest` policy num_versions, which decides
            the versions loaded beside the new one.
    """

    base_path: Path
    write_model: Callable[[Path], None]
    sample_inputs: dict[str, np.ndarray]
    reference_outputs: dict[str, np.ndarray]
    version: int | None = None
    model_name: str | None = None
    warmup_records: int = constants.DEFAULT_WARMUP_RECORDS
    rtol: float = constants.DEFAULT_RTOL
    atol: float = constants.DEFAULT_ATOL
    metadata: dict[str, object] = dataclasses.field(default_factory=dict)
    memory: headroom.Settings = headroom.DEFAULT_SETTINGS
    latest_versions: int = 1


def parse_version(text: str) -> int:
    """Parses a version given on the command line.

    Args:
        text: The user's value.

    Returns:
        The version as a positive int.

    Raises:
        ExportError: If it is not a positive integer.
    """
    try:
        version = int(text)
    except (TypeError, ValueError):
        version = 0
    if version < 1 or str(text).strip() != str(version):
        raise ExportError(
            f"version {text!r} is not a positive integer; TF Serving only loads "
            "directories named 1, 2, 3, ...; pass e.g. --version 1 or omit it"
        )
    return version


def existing_versions(base_path: Path) -> dict[int, Path]:
    """Returns the versions under base_path as TF Serving reads them, ascending.

    Raises:
        ExportError: two children are one version (e.g. ``7`` and ``007``).
    """
    if not base_path.is_dir():
        return {}
    try:
        return layout.version_paths(base_path)
    except layout.LayoutError as err:
        raise ExportError(str(err)) from err


def choose_version(base_path: Path, version: int | None) -> int:
    """Returns the version to publish, refusing to reuse an existing one.

    Raises:
        ExportError: If the requested version exists or is not positive.
    """
    versions = existing_versions(base_path)
    newest = max(versions, default=0)
    if version is None:
        return newest + 1
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ExportError(
            f"version {version!r} is not a positive integer; pass e.g. --version 1"
        )
    if version in versions or (base_path / str(version)).exists():
        suggestion = newest + 1 if versions else version + 1
        where = versions.get(version, base_path / str(version))
        raise ExportError(
            f"version {version} already exists at {where}; "
            f"published versions are never overwritten: omit --version to publish "
            f"{suggestion}, or pass an unused number"
        )
    return version


def _json_value(value: object) -> object:
    if isinstance(value, bytes):  # Before numpy, which strips trailing NULs.
        return {"b64": base64.b64encode(value).decode("ascii")}
    value = np.asarray(value)
    if value.dtype == object or value.dtype.kind == "S":
        return [_json_value(item) for item in value]
    return value.tolist()


def rows(tensors: dict[str, np.ndarray]) -> list[object]:
    """Converts a dict of batch arrays to TF Serving's REST row format."""
    count = len(next(iter(tensors.values())))
    if len(tensors) == 1:
        (array,) = tensors.values()
        return [_json_value(array[i]) for i in range(count)]
    return [{k: _json_value(v[i]) for k, v in tensors.items()} for i in range(count)]


def run_serving_default(
    version_dir: Path, sample_inputs: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Loads a SavedModel and runs its serving_default signature.

    Raises:
        ExportError: If the model cannot be loaded or has no serving_default.
    """
    try:
        loaded = tf.saved_model.load(str(version_dir))
    except Exception as err:
        raise ExportError(
            f"cannot load SavedModel {version_dir} ({err}); re-export the model"
        ) from err
    if constants.SIGNATURE_NAME not in loaded.signatures:
        raise ExportError(
            f"{version_dir} has no {constants.SIGNATURE_NAME!r} signature; "
            "re-export with a serving_default signature"
        )
    fn = loaded.signatures[constants.SIGNATURE_NAME]
    outputs = fn(**{k: tf.constant(v) for k, v in sample_inputs.items()})
    return {k: v.numpy() for k, v in outputs.items()}


def validate(request: PublishRequest, served: dict[str, np.ndarray]) -> None:
    """Checks the reloaded model's outputs against the in-memory model's.

    Raises:
        ExportError: If output keys differ or values differ beyond tolerance.
    """
    if set(served) != set(request.reference_outputs):
        raise ExportError(
            f"exported outputs {sorted(served)} differ from the model's "
            f"{sorted(request.reference_outputs)}; check the output layer names"
        )
    for key, expected in request.reference_outputs.items():
        if not np.allclose(served[key], expected, rtol=request.rtol, atol=request.atol):
            worst = float(np.max(np.abs(served[key] - expected)))
            raise ExportError(
                f"exported output {key!r} differs from the in-memory model by up to "
                f"{worst:g} (rtol={request.rtol}, atol={request.atol}); the export "
                "is not faithful, do not serve it"
            )


def check_memory(request: PublishRequest, version: int, figure: dict | None) -> None:
    """Warns, or refuses, when the swap to `version` may exceed the memory limit.

    Raises:
        ExportError: the check refuses (mode refuse and over the limit).
    """
    base_path = Path(request.base_path)
    kept = headroom.kept_during_load(
        list(existing_versions(base_path)), version, request.latest_versions
    )
    if kept is None:
        logger.info(
            "version %d is not among the %d newest: the server will not load it",
            version,
            request.latest_versions,
        )
        return
    model_name = request.model_name or base_path.name
    swap = headroom.Swap(model_name, version, figure, headroom.figures(base_path, kept))
    verdict = headroom.check(swap, request.memory)
    for line in verdict.warnings:
        logger.warning("%s", line)
    if verdict.refusal:
        raise ExportError(verdict.refusal)


def write_assets(
    request: PublishRequest,
    staging: Path,
    version: int,
    served: dict[str, np.ndarray],
    memory: dict | None = None,
) -> None:
    """Writes warmup records, sample request, golden outputs and metadata.

    `memory` is memory_probe.measure()'s figure (None: not measured).
    """
    signature = signatures.serving_signature(staging)
    model_name = request.model_name or request.base_path.name
    assets = staging / layout.ASSETS_EXTRA
    assets.mkdir(exist_ok=True)
    logs = warmup.build_warmup_logs(
        model_name, signature["inputs"], request.sample_inputs, request.warmup_records
    )
    warmup.write_warmup_records(assets / layout.WARMUP_REQUESTS_FILE, logs)
    sample = {
        "signature_name": constants.SIGNATURE_NAME,
        "instances": rows(request.sample_inputs),
    }
    (assets / layout.SAMPLE_REQUEST_FILE).write_text(json.dumps(sample))
    golden = {"predictions": rows(served)}
    (assets / layout.GOLDEN_OUTPUTS_FILE).write_text(json.dumps(golden))
    metadata = {
        "model_name": model_name,
        "version": version,
        "dataset": None,
        "accuracy": None,
        "class_names": None,
        **request.metadata,
        "signature_name": constants.SIGNATURE_NAME,
        "inputs": signatures.public_spec(signature["inputs"]),
        "outputs": signatures.public_spec(signature["outputs"]),
        "tolerance": {"rtol": request.rtol, "atol": request.atol},
        "warmup_records": len(logs),
        headroom.METADATA_KEY: memory,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    (assets / layout.EXPORT_METADATA_FILE).write_text(json.dumps(metadata, indent=2))


def sync_tree(root: Path) -> None:
    """Flushes every file and directory under root to disk before the rename."""
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            with open(os.path.join(dirpath, name), "rb") as handle:
                os.fsync(handle.fileno())
        fd = os.open(dirpath, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def promote(staging: Path, target: Path) -> None:
    """Renames the staging directory to its numeric name (atomic on one volume).

    Raises:
        ExportError: If the target appeared in the meantime.
    """
    if target.exists():
        raise ExportError(
            f"version directory {target} appeared while exporting; "
            "re-run to publish the next free version"
        )
    try:
        os.rename(staging, target)
    except OSError as err:
        raise ExportError(f"cannot rename {staging} to {target}: {err}") from err


def publish(request: PublishRequest) -> Path:
    """Exports, checks and atomically publishes one version.

    Args:
        request: What to publish and where.

    Returns:
        The published version directory `<base_path>/<N>`.

    Raises:
        ExportError: On bad input or a failed check; nothing is published then.
    """
    warmup.check_warmup_count(request.warmup_records)
    base_path = Path(request.base_path)
    if base_path.exists() and not base_path.is_dir():
        raise ExportError(
            f"base path {base_path} is a file; pass a directory for the versions"
        )
    version = choose_version(base_path, request.version)
    base_path.mkdir(parents=True, exist_ok=True)
    stale = sorted(p.name for p in base_path.glob(f"{constants.STAGING_PREFIX}*"))
    if stale:
        logger.warning(
            "staging directories %s remain from an interrupted or concurrent "
            "export; TF Serving ignores them, delete them once no export runs",
            stale,
        )
    staging = base_path / f"{constants.STAGING_PREFIX}{uuid.uuid4().hex}"
    try:
        request.write_model(staging)
        served = run_serving_default(staging, request.sample_inputs)
        validate(request, served)
        figure = memory_probe.measure(staging, request.sample_inputs)
        check_memory(request, version, figure)
        write_assets(request, staging, version, served, figure)
        sync_tree(staging)
        promote(staging, base_path / str(version))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    target = base_path / str(version)
    logger.info("published %s", target)
    return target
