"""Tiny Keras models and helpers shared by the model_export tests."""

import keras
import numpy as np

from model_export import keras_export
from model_export.publish import PublishRequest

FEATURES = 4
CLASSES = 3


def tiny_model(seed: int = 7) -> keras.Model:
    """Dense model: "features" float32 (-1, 4) -> "scores" float32 (-1, 3)."""
    keras.utils.set_random_seed(seed)
    features = keras.Input(shape=(FEATURES,), name="features", dtype="float32")
    hidden = keras.layers.Dense(5, activation="relu", name="hidden")(features)
    scores = keras.layers.Dense(CLASSES, activation="softmax", name="scores")(hidden)
    return keras.Model(features, scores, name="tiny")


def sample_features(rows: int = 3) -> np.ndarray:
    return np.random.default_rng(0).random((rows, FEATURES)).astype(np.float32)


def tiny_request(base_path, model: keras.Model | None = None, **kwargs):
    """A PublishRequest for a tiny model under base_path."""
    model = model or tiny_model()
    sample = sample_features()
    return PublishRequest(
        base_path=base_path,
        write_model=lambda path: keras_export.export_keras_model(model, path),
        sample_inputs={"features": sample},
        reference_outputs={"scores": np.asarray(model(sample))},
        **kwargs,
    )


def numeric_dirs(base_path) -> list[str]:
    return sorted(p.name for p in base_path.iterdir() if p.name.isdigit())


def all_entries(base_path) -> list[str]:
    return sorted(p.name for p in base_path.iterdir())
