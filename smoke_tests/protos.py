"""TF Serving message classes loaded without importing TensorFlow.

The generated ``tensorflow_serving.apis`` modules import
``tensorflow.core.framework.*_pb2``, and importing any ``tensorflow.*`` module runs
TensorFlow's package ``__init__`` (seconds of start-up and gigabytes of address
space). This module reads the serialized ``FileDescriptorProto`` embedded in the
installed ``*_pb2.py`` files (found with :func:`importlib.util.find_spec` on the
top-level packages, which does not execute them), adds them to a private
descriptor pool and builds message classes from it. The wire format is identical.

Typical usage example:

    from smoke_tests import protos
    request = protos.message("tensorflow.serving.PredictRequest")()
"""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.util
import logging
from pathlib import Path

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

logger = logging.getLogger(__name__)

_ROOT_PACKAGES = ("tensorflow_serving", "tensorflow")
_ENTRY_MODULES = (
    "tensorflow_serving.apis.predict_pb2",
    "tensorflow_serving.apis.get_model_metadata_pb2",
    "tensorflow_serving.apis.get_model_status_pb2",
    "tensorflow_serving.config.model_server_config_pb2",
)


class ProtoLoadError(RuntimeError):
    """The TF Serving API descriptors could not be found or parsed."""


def _package_roots() -> dict[str, Path]:
    roots: dict[str, Path] = {}
    for name in _ROOT_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            raise ProtoLoadError(
                f"package {name!r} is not installed: pip install tensorflow-serving-api"
            )
        roots[name] = Path(next(iter(spec.submodule_search_locations))).parent
    return roots


def _parse_generated(pb2_path: Path) -> tuple[bytes, list[str]]:
    """Returns the serialized descriptor and the ``*_pb2`` modules a file imports."""
    tree = ast.parse(pb2_path.read_text(encoding="utf-8"), filename=str(pb2_path))
    data: bytes | None = None
    imports: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            imports.extend(
                f"{node.module}.{alias.name}"
                for alias in node.names
                if alias.name.endswith("_pb2")
            )
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "AddSerializedFile"
            and node.args
        ):
            value = ast.literal_eval(node.args[0])
            if isinstance(value, bytes):
                data = value
    if data is None:
        raise ProtoLoadError(f"no serialized descriptor found in {pb2_path}")
    return data, imports


def _well_known_descriptor(module_name: str) -> bytes:
    module = importlib.import_module(module_name)
    proto = descriptor_pb2.FileDescriptorProto()
    module.DESCRIPTOR.CopyToProto(proto)
    return proto.SerializeToString()


def _add_module(
    pool: descriptor_pool.DescriptorPool,
    module_name: str,
    roots: dict[str, Path],
    done: set[str],
) -> None:
    if module_name in done:
        return
    done.add(module_name)
    if module_name.startswith("google.protobuf."):
        pool.AddSerializedFile(_well_known_descriptor(module_name))
        return
    top = module_name.split(".", 1)[0]
    if top not in roots:
        raise ProtoLoadError(f"cannot locate {module_name}: unknown package {top}")
    pb2 = roots[top].joinpath(*module_name.split(".")).with_suffix(".py")
    if not pb2.is_file():
        raise ProtoLoadError(f"cannot locate {module_name}: {pb2} is missing")
    data, imports = _parse_generated(pb2)
    for dependency in imports:
        _add_module(pool, dependency, roots, done)
    pool.AddSerializedFile(data)


@functools.cache
def pool() -> descriptor_pool.DescriptorPool:
    """Returns a private pool holding the TF Serving Predict/Metadata/Status APIs.

    Raises:
        ProtoLoadError: tensorflow-serving-api (or its TensorFlow protos) is missing.
    """
    roots = _package_roots()
    private = descriptor_pool.DescriptorPool()
    done: set[str] = set()
    for module_name in _ENTRY_MODULES:
        _add_module(private, module_name, roots, done)
    logger.debug("loaded %d proto files into a private pool", len(done))
    return private


@functools.cache
def message(full_name: str) -> type:
    """Returns the message class for a fully qualified proto name.

    Args:
        full_name: e.g. ``"tensorflow.serving.PredictRequest"``.
    """
    return message_factory.GetMessageClass(pool().FindMessageTypeByName(full_name))


def enum_value(enum_name: str, value_name: str) -> int:
    """Returns an enum number, e.g. for ``("tensorflow.DataType", "DT_FLOAT")``."""
    return pool().FindEnumTypeByName(enum_name).values_by_name[value_name].number


def enum_name(enum_name: str, number: int) -> str:
    """Returns the name of an enum number, or ``str(number)`` when unknown."""
    values = pool().FindEnumTypeByName(enum_name).values_by_number
    return values[number].name if number in values else str(number)
