"""Keras model definitions.

Typical usage example:

    model = build_fashion_mnist_cnn()
"""

import keras

from model_export import constants


def build_fashion_mnist_cnn(seed: int = constants.DEFAULT_SEED) -> keras.Model:
    """Builds the small fashion-MNIST CNN.

    Input "image" float32 (-1, 28, 28, 1); output "probabilities" float32 (-1, 10).

    Args:
        seed: Seed for the weight initialisers.

    Returns:
        An uncompiled functional model.
    """
    keras.utils.set_random_seed(seed)
    size = constants.IMAGE_SIZE
    image = keras.Input(
        shape=(size, size, 1), dtype="float32", name=constants.FASHION_MNIST_INPUT
    )
    x = keras.layers.Conv2D(8, 3, strides=2, activation="relu", name="conv")(image)
    x = keras.layers.Flatten(name="flatten")(x)
    probabilities = keras.layers.Dense(
        10, activation="softmax", name=constants.FASHION_MNIST_OUTPUT
    )(x)
    return keras.Model(image, probabilities, name="fashion_mnist_cnn")
