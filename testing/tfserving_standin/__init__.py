"""A STAND-IN for TensorFlow Serving, used only by this project's tests and CI.

It is NOT TensorFlow Serving. It speaks the same REST and gRPC APIs, takes
tensorflow_model_server's flags and follows its model-loading rules closely
enough for the smoke tests and the load tester, and runs SavedModels with real
TensorFlow. See README.md for the known differences.

Typical usage example:

    python -m tfserving_standin --port=8500 --rest_api_port=8501 \
        --model_name=fashion_mnist --model_base_path=/models/fashion_mnist
"""

import os

# TF Serving's standard CPU build does not use oneDNN kernels; with them a wrong-rank
# input can abort the process (CHECK failure) instead of returning an error.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

STANDIN_VERSION = "0.1.0"
