"""Export Keras models as numbered TF Serving SavedModel versions.

Typical usage example:

    python -m model_export train --model-base-path models/fashion_mnist
"""
