"""Trains the fashion-MNIST CNN and publishes it as the next version.

Typical usage example:

    version_dir = train_and_publish(Path("models/fashion_mnist"), epochs=1)
"""

import logging
from pathlib import Path

import numpy as np

from model_export import constants, datasets, keras_export, models
from model_export.publish import PublishRequest, choose_version, publish
from model_export.warmup import check_warmup_count
from tfserving_contract import headroom

logger = logging.getLogger(__name__)


def train_and_publish(
    base_path: Path,
    version: int | None = None,
    epochs: int = constants.DEFAULT_EPOCHS,
    warmup_records: int = constants.DEFAULT_WARMUP_RECORDS,
    dataset: str = constants.DEFAULT_DATASET,
    max_train_samples: int | None = None,
    batch_size: int = constants.DEFAULT_BATCH_SIZE,
    seed: int = constants.DEFAULT_SEED,
    model_name: str | None = None,
    memory: headroom.Settings = headroom.DEFAULT_SETTINGS,
    latest_versions: int = 1,
) -> Path:
    """Trains the CNN, evaluates it and publishes it under base_path.

    Args:
        base_path: Directory of numbered versions.
        version: Explicit version, or None for the next free one.
        epochs: Training epochs.
        warmup_records: Number of warmup records to write.
        dataset: "auto", "fashion_mnist" or "digits".
        max_train_samples: Cap on training rows (for quick runs), or None.
        batch_size: Training batch size.
        seed: Seed for weights and shuffling.
        model_name: Served model name; defaults to the base path's name.
        memory: The memory check's settings (default: warn, no limit).
        latest_versions: The server's `latest` policy num_versions.

    Returns:
        The published version directory.

    Raises:
        ExportError: On bad input; nothing is published then.
    """
    check_warmup_count(warmup_records)
    choose_version(Path(base_path), version)  # fail before spending time training
    data = datasets.load_dataset(dataset)
    x_train, y_train = data.x_train, data.y_train
    if max_train_samples is not None:
        x_train, y_train = x_train[:max_train_samples], y_train[:max_train_samples]
    model = models.build_fashion_mnist_cnn(seed)
    model.compile(
        optimizer="adam",
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    logger.info("training on %s: %d rows, %d epoch(s)", data.name, len(x_train), epochs)
    model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size, verbose=0)
    _, accuracy = model.evaluate(data.x_test, data.y_test, verbose=0)
    logger.info("test accuracy on %s: %.4f", data.name, accuracy)

    sample = data.x_test[: constants.DEFAULT_SAMPLE_SIZE].astype(np.float32)
    reference = np.asarray(model(sample, training=False))
    request = PublishRequest(
        base_path=Path(base_path),
        write_model=lambda path: keras_export.export_keras_model(model, path),
        sample_inputs={constants.FASHION_MNIST_INPUT: sample},
        reference_outputs={constants.FASHION_MNIST_OUTPUT: reference},
        version=version,
        model_name=model_name,
        warmup_records=warmup_records,
        memory=memory,
        latest_versions=latest_versions,
        metadata={
            "dataset": data.name,
            "accuracy": round(float(accuracy), 6),
            "class_names": list(data.class_names),
            "epochs": epochs,
            "train_samples": len(x_train),
            "test_samples": len(data.x_test),
        },
    )
    return publish(request)
