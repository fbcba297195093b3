"""Fetch numbered SavedModel versions from S3, GCS or an HTTP(S) tarball."""
