"""Fixtures for the model_export tests.

``standin_resnet`` (tests/standin_fixtures.py) runs the TF Serving STAND-IN (not
TensorFlow Serving) on loopback, serving the ResNet export as model "resnet".
"""

from tests.standin_fixtures import standin_resnet  # noqa: F401
