"""Defaults shared by the model_export package.

Typical usage example:

    from model_export import constants
    print(constants.DEFAULT_WARMUP_RECORDS)
"""

SIGNATURE_NAME = "serving_default"
"""Signature TF Serving uses when a request names none."""

STAGING_PREFIX = ".tmp-"
"""Prefix of the non-numeric staging directory that TF Serving ignores."""

DEFAULT_WARMUP_RECORDS = 10
MAX_WARMUP_RECORDS = 1000
"""TF Serving reads at most 1000 warmup records per version."""

DEFAULT_SAMPLE_SIZE = 3
"""Rows in sample_request.json and golden_outputs.json."""

DEFAULT_RTOL = 1e-4
DEFAULT_ATOL = 1e-5
"""Tolerance for comparing served outputs with the exported model's outputs."""

DEFAULT_BASE_PATH = "models/fashion_mnist"
DEFAULT_EPOCHS = 3
DEFAULT_BATCH_SIZE = 64
DEFAULT_SEED = 1234
DEFAULT_DATASET = "auto"
DATASET_CHOICES = ("auto", "fashion_mnist", "digits")

FASHION_MNIST_INPUT = "image"
FASHION_MNIST_OUTPUT = "probabilities"
FASHION_MNIST_CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
DIGITS_CLASS_NAMES = tuple(str(i) for i in range(10))
IMAGE_SIZE = 28

RESNET_INPUT_SIZE = 224
RESNET_BASE_PATH = "models/resnet50"
RESNET_BYTES_INPUT = "image_bytes"
RESNET_FLOAT_INPUT = "images"
RESNET_OUTPUT = "probabilities"
RESNET_CLASSES_OUTPUT = "classes"
"""int64 argmax of the probabilities, as in the tutorials' ResNet SavedModel."""
RESNET_FLOAT_SIGNATURE = "predict_images"
RESNET_WEIGHTS_CHOICES = ("auto", "imagenet", "none")
