"""TF Serving's contract, shared by every tool, without TensorFlow.

- ``layout``: the model directory (version scan as the server does it,
  ``assets.extra`` file names).
- ``protos``: the API's message classes from the packaged descriptor set.
- ``signature``: signature specs and the dtype table.
- ``tensors``: numpy arrays to and from ``TensorProto``.
- ``payloads``: sample requests (REST JSON, row or columnar) to tensors.
- ``rest_client``, ``grpc_client``: clients for the REST and gRPC APIs.
"""
