"""HTTP gateway in front of TF Serving: image upload -> gRPC Predict -> top-k labels."""
