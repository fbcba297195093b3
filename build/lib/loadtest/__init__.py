"""Honest open-loop load tester for TF Serving (REST and gRPC).

Typical usage example:

    python -m loadtest run --protocol rest --target http://127.0.0.1:8501 \
        --model-name fashion_mnist --request sample_request.json --rate 500
"""
