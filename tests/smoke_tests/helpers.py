"""Synthetic sample directories and metadata bodies for the smoke_tests tests."""

import json
from pathlib import Path
from typing import Any

MODEL = "tiny"


def rest_metadata(
    inputs: dict[str, tuple[str, list[int]]],
    outputs: dict[str, tuple[str, list[int]]],
    signature_name: str = "serving_default",
) -> dict[str, Any]:
    """A body shaped like TF Serving's GET /v1/models/<m>/metadata."""

    def infos(specs: dict[str, tuple[str, list[int]]]) -> dict[str, Any]:
        return {
            name: {
                "dtype": dtype,
                "tensor_shape": {
                    "dim": [{"size": str(d), "name": ""} for d in shape],
                    "unknown_rank": False,
                },
                "name": f"{signature_name}_{name}:0",
            }
            for name, (dtype, shape) in specs.items()
        }

    return {
        "model_spec": {"name": MODEL, "signature_name": "", "version": "1"},
        "metadata": {
            "signature_def": {
                "signature_def": {
                    signature_name: {
                        "inputs": infos(inputs),
                        "outputs": infos(outputs),
                        "method_name": "tensorflow/serving/predict",
                    }
                }
            }
        },
    }


def write_sample_dir(
    base: Path,
    version: int = 1,
    instances: list[Any] | None = None,
    predictions: list[Any] | None = None,
    inputs: dict[str, Any] | None = None,
) -> Path:
    """Writes <base>/<version>/assets.extra with the three contract files."""
    directory = base / str(version) / "assets.extra"
    directory.mkdir(parents=True)
    instances = instances if instances is not None else [[1.0, 2.0], [3.0, 4.0]]
    predictions = predictions if predictions is not None else [[0.5], [0.25]]
    (directory / "sample_request.json").write_text(
        json.dumps({"signature_name": "serving_default", "instances": instances})
    )
    (directory / "golden_outputs.json").write_text(
        json.dumps({"predictions": predictions})
    )
    metadata = {
        "model_name": MODEL,
        "version": version,
        "signature_name": "serving_default",
        "inputs": inputs or {"x": {"dtype": "DT_FLOAT", "shape": [-1, 2]}},
        "outputs": {"y": {"dtype": "DT_FLOAT", "shape": [-1, 1]}},
        "tolerance": {"rtol": 1e-4, "atol": 1e-5},
    }
    (directory / "export_metadata.json").write_text(json.dumps(metadata))
    return directory
