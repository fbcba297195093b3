"""Training data for the fashion-MNIST CNN, with an offline fallback.

Typical usage example:

    data = load_dataset("auto")
    print(data.name, data.x_train.shape)
"""

import contextlib
import dataclasses
import logging
import sys

import numpy as np

from model_export import constants
from model_export.errors import ExportError

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Dataset:
    """Images scaled to [0, 1] as float32 (N, 28, 28, 1) with int labels."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]


def _prepare(images: np.ndarray, scale: float) -> np.ndarray:
    return (images.astype(np.float32) / scale)[..., np.newaxis]


def load_fashion_mnist() -> Dataset:
    """Loads fashion-MNIST through Keras (downloads it unless cached).

    Returns:
        The dataset.

    Raises:
        Exception: Whatever Keras raises when the download fails.
    """
    import keras

    with contextlib.redirect_stdout(sys.stderr):  # Keras prints download progress.
        (x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
    return Dataset(
        name="fashion_mnist",
        x_train=_prepare(x_train, 255.0),
        y_train=y_train.astype(np.int64),
        x_test=_prepare(x_test, 255.0),
        y_test=y_test.astype(np.int64),
        class_names=constants.FASHION_MNIST_CLASS_NAMES,
    )


def load_digits(seed: int = constants.DEFAULT_SEED) -> Dataset:
    """Loads scikit-learn's bundled 8x8 digits, resized to 28x28 (works offline).

    Args:
        seed: Seed of the 80/20 train/test split.

    Returns:
        The dataset.
    """
    import tensorflow as tf
    from sklearn.datasets import load_digits as sk_load_digits
    from sklearn.model_selection import train_test_split

    digits = sk_load_digits()
    small = (digits.images.astype(np.float32) / 16.0)[..., np.newaxis]
    size = (constants.IMAGE_SIZE, constants.IMAGE_SIZE)
    images = np.clip(tf.image.resize(small, size).numpy(), 0.0, 1.0)
    x_train, x_test, y_train, y_test = train_test_split(
        images,
        digits.target.astype(np.int64),
        test_size=0.2,
        random_state=seed,
        stratify=digits.target,
    )
    return Dataset(
        name="digits",
        x_train=x_train.astype(np.float32),
        y_train=y_train,
        x_test=x_test.astype(np.float32),
        y_test=y_test,
        class_names=constants.DIGITS_CLASS_NAMES,
    )


def load_dataset(name: str = constants.DEFAULT_DATASET) -> Dataset:
    """Loads a dataset by name; "auto" tries fashion-MNIST, then digits.

    Args:
        name: One of constants.DATASET_CHOICES.

    Returns:
        The dataset; its name says which one was used.

    Raises:
        ExportError: If the name is unknown or fashion-MNIST was requested
            explicitly and cannot be loaded.
    """
    if name not in constants.DATASET_CHOICES:
        choices = ", ".join(constants.DATASET_CHOICES)
        raise ExportError(f"unknown dataset {name!r}; use one of: {choices}")
    if name == "digits":
        return load_digits()
    try:
        return load_fashion_mnist()
    except Exception as err:  # Keras raises a bare Exception on download failure.
        if name == "fashion_mnist":
            raise ExportError(
                f"cannot load fashion-MNIST ({err}); connect to the internet, "
                "place the files in ~/.keras/datasets/fashion-mnist, "
                "or pass --dataset digits"
            ) from err
        logger.warning(
            "fashion-MNIST unavailable (%s); falling back to the bundled "
            "scikit-learn digits dataset resized to 28x28",
            err,
        )
        return load_digits()
