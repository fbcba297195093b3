"""Shows the signatures of an exported version, like `saved_model_cli show --all`.

Typical usage example:

    report = inspect_path(Path("models/fashion_mnist"))
    print(format_report(report))
"""

import json
from pathlib import Path

from model_export import signatures
from model_export.errors import ExportError
from model_export.publish import existing_versions
from tfserving_contract import layout


def resolve_version_dir(path: Path) -> Path:
    """Returns the version directory for a version dir or a base path (newest).

    Raises:
        ExportError: If the path is missing or holds no SavedModel version.
    """
    path = Path(path)
    if not path.exists():
        raise ExportError(
            f"{path} does not exist; pass a base path (e.g. models/fashion_mnist) "
            "or a version directory, and run `make export` first"
        )
    if (path / signatures.SAVED_MODEL_FILE).is_file():
        return path
    versions = existing_versions(path)
    if not versions:
        raise ExportError(
            f"{path} holds no saved_model.pb and no numeric version directory; "
            "export a model there first (`tfs-export train --model-base-path "
            f"{path}`)"
        )
    return versions[max(versions)]


def inspect_path(path: Path) -> dict[str, object]:
    """Describes the newest (or given) version: signatures and export metadata.

    Args:
        path: A base path or a version directory.

    Returns:
        {"path", "version", "signatures", "metadata"}; shapes use -1 for unknown
        dimensions and None for unknown rank.
    """
    version_dir = resolve_version_dir(path)
    metadata_file = version_dir / layout.ASSETS_EXTRA / layout.EXPORT_METADATA_FILE
    metadata = None
    if metadata_file.is_file():
        metadata = json.loads(metadata_file.read_text())
    version = layout.parse_version(version_dir.name)
    return {
        "path": str(version_dir),
        "version": version,
        "signatures": signatures.read_signatures(version_dir),
        "metadata": metadata,
    }


def _shape(shape: list[int] | None) -> str:
    if shape is None:
        return "unknown_rank"
    return (
        "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
    )


def format_report(report: dict[str, object]) -> str:
    """Formats inspect_path() output as text close to saved_model_cli's."""
    lines = [f"path: {report['path']}", f"version: {report['version']}"]
    metadata = report["metadata"] or {}
    for key in ("model_name", "dataset", "accuracy"):
        if metadata.get(key) is not None:
            lines.append(f"{key}: {metadata[key]}")
    for name, sig in report["signatures"].items():
        lines.append("")
        lines.append(f"signature_def['{name}']:")
        for kind in ("inputs", "outputs"):
            label = "input" if kind == "inputs" else "output"
            lines.append(
                f"  The given SavedModel SignatureDef contains the following "
                f"{label}(s):"
            )
            for key, info in sig[kind].items():
                lines.append(f"    {kind}['{key}'] tensor_info:")
                lines.append(f"        dtype: {info['dtype']}")
                lines.append(f"        shape: {_shape(info['shape'])}")
                lines.append(f"        name: {info['name']}")
        lines.append(f"  Method name is: {sig['method_name']}")
    return "\n".join(lines)
