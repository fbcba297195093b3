"""Signature-driven smoke tests for a TensorFlow Serving deployment (REST and gRPC).

Typical usage example:

    python -m smoke_tests --rest-url http://127.0.0.1:8501 \
        --grpc-target 127.0.0.1:8500 --model fashion_mnist \
        --model-base-path models/fashion_mnist
"""
