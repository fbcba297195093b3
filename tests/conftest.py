"""Shared pytest fixtures.

`fashion_mnist_base_path` trains the fashion-MNIST CNN for one epoch on a small
slice of the offline digits dataset and publishes version 1 through the real
publish code, so every file of the on-disk contract exists:

    <base>/1/saved_model.pb, variables/, assets.extra/{tf_serving_warmup_requests,
    sample_request.json, golden_outputs.json, export_metadata.json}

`resnet_bytes_base_path` exports ResNet50 with `--image-bytes-signature` (random
weights, 32x32 inputs to keep it cheap) as model "resnet", the name TF Serving's
tutorial clients use.

Typical usage example:

    def test_layout(fashion_mnist_base_path):
        assert (fashion_mnist_base_path / "1" / "saved_model.pb").is_file()
"""

from pathlib import Path

import pytest

FIXTURE_MODEL_NAME = "fashion_mnist"
FIXTURE_TRAIN_SAMPLES = 512
RESNET_MODEL_NAME = "resnet"
RESNET_FIXTURE_SIZE = 32


@pytest.fixture(scope="session")
def fashion_mnist_base_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Base path holding version 1 of the fashion-MNIST CNN (digits data, offline).

    The model is named "fashion_mnist", takes "image" float32 (-1, 28, 28, 1) and
    returns "probabilities" float32 (-1, 10). Treat the directory as read-only;
    copy it (shutil.copytree) before adding versions.
    """
    from model_export.train import train_and_publish

    base_path = tmp_path_factory.mktemp("models") / FIXTURE_MODEL_NAME
    train_and_publish(
        base_path,
        version=1,
        epochs=1,
        dataset="digits",
        max_train_samples=FIXTURE_TRAIN_SAMPLES,
        model_name=FIXTURE_MODEL_NAME,
    )
    return base_path


@pytest.fixture(scope="session")
def resnet_bytes_base_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Base path holding version 1 of `tfs-export resnet50 --image-bytes-signature`.

    serving_default takes "image_bytes" DT_STRING (-1) and returns "classes"
    DT_INT64 (-1) and "probabilities" DT_FLOAT (-1, 1000); 4 warmup records.
    Random weights and 32x32 inputs. Treat the directory as read-only.
    """
    from model_export import cli

    base_path = tmp_path_factory.mktemp("models") / RESNET_MODEL_NAME
    argv = ["resnet50", "--base-path", str(base_path), "--weights", "none"]
    argv += ["--input-size", str(RESNET_FIXTURE_SIZE), "--image-bytes-signature"]
    argv += ["--warmup-records", "4"]
    assert cli.main(argv) == 0
    return base_path
