"""TF Serving's contract, shared by every tool: API messages without TensorFlow."""
