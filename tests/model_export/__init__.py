"""Tests for the model_export package."""
