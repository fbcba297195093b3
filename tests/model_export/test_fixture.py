"""Checks the shared fashion_mnist_base_path fixture honours the on-disk contract."""

import json

import pytest

from tfserving_contract import layout

pytestmark = pytest.mark.slow


def test_fixture_holds_version_1_with_every_contract_file(fashion_mnist_base_path):
    version_dir = fashion_mnist_base_path / "1"
    assert sorted(p.name for p in fashion_mnist_base_path.iterdir()) == ["1"]
    assert (version_dir / "saved_model.pb").is_file()
    assert (version_dir / "variables").is_dir()
    assets = version_dir / layout.ASSETS_EXTRA
    for name in (
        layout.WARMUP_REQUESTS_FILE,
        layout.SAMPLE_REQUEST_FILE,
        layout.GOLDEN_OUTPUTS_FILE,
        layout.EXPORT_METADATA_FILE,
    ):
        assert (assets / name).is_file(), name
    metadata = json.loads((assets / layout.EXPORT_METADATA_FILE).read_text())
    assert metadata["model_name"] == "fashion_mnist"
    assert metadata["version"] == 1
    assert metadata["dataset"] == "digits"
    assert metadata["inputs"] == {
        "image": {"dtype": "DT_FLOAT", "shape": [-1, 28, 28, 1]}
    }
    assert metadata["outputs"] == {
        "probabilities": {"dtype": "DT_FLOAT", "shape": [-1, 10]}
    }
    sample = json.loads((assets / layout.SAMPLE_REQUEST_FILE).read_text())
    golden = json.loads((assets / layout.GOLDEN_OUTPUTS_FILE).read_text())
    assert sample["signature_name"] == "serving_default"
    assert len(sample["instances"]) == len(golden["predictions"])
    assert all(len(row) == 10 for row in golden["predictions"])
