"""TF Serving message classes, without TensorFlow.

``tf_serving_apis.binpb`` (beside this module) is a ``FileDescriptorSet`` of the
PredictionService and ModelService APIs, ModelServerConfig and every TensorFlow
``.proto`` they depend on, generated from the pinned tensorflow-serving-api and
tensorflow wheels by ``hack/update/tf_serving_protos.py`` (``make protos``; ``make
verify`` checks it is current). This module adds those files to a private
descriptor pool, after the protobuf runtime's own well-known files they
import, and builds message classes from it. The wire format is the generated
modules'; only ``protobuf`` is needed at run time.

Typical usage example:

    from tfserving_contract import protos
    request = protos.message("tensorflow.serving.PredictRequest")()
"""

from __future__ import annotations

import functools
import importlib
import logging
from importlib import resources

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

logger = logging.getLogger(__name__)

DESCRIPTOR_SET = "tf_serving_apis.binpb"
_WELL_KNOWN_PREFIX = "google/protobuf/"


class ProtoLoadError(RuntimeError):
    """The packaged TF Serving API descriptors are missing or cannot be parsed."""


def _well_known(file_name: str) -> descriptor_pb2.FileDescriptorProto:
    module = importlib.import_module(
        file_name.removesuffix(".proto").replace("/", ".") + "_pb2"
    )
    proto = descriptor_pb2.FileDescriptorProto()
    module.DESCRIPTOR.CopyToProto(proto)
    return proto


def file_descriptor_set() -> descriptor_pb2.FileDescriptorSet:
    """Returns the packaged files with the well-known ones they import, dependencies
    first: a complete set, as gRPC tools such as ghz take with ``--protoset``.

    Raises:
        ProtoLoadError: the descriptor set is missing from the package or corrupt.
    """
    try:
        data = resources.files(__package__).joinpath(DESCRIPTOR_SET).read_bytes()
        packaged = descriptor_pb2.FileDescriptorSet.FromString(data).file
    except (OSError, ValueError) as exc:  # DecodeError is a ValueError
        raise ProtoLoadError(
            f"cannot read {__package__}/{DESCRIPTOR_SET} ({exc}): reinstall the "
            "package, or run `make protos` in a checkout"
        ) from exc
    complete = descriptor_pb2.FileDescriptorSet()
    added: set[str] = set()
    for file in packaged:
        for dependency in file.dependency:
            if dependency.startswith(_WELL_KNOWN_PREFIX) and dependency not in added:
                complete.file.append(_well_known(dependency))
                added.add(dependency)
        complete.file.append(file)
        added.add(file.name)
    return complete


@functools.cache
def pool() -> descriptor_pool.DescriptorPool:
    """Returns a private pool holding the TF Serving APIs.

    Raises:
        ProtoLoadError: the descriptor set is missing from the package or corrupt.
    """
    private = descriptor_pool.DescriptorPool()
    files = file_descriptor_set().file
    for file in files:
        private.Add(file)
    logger.debug("loaded %d proto files into a private pool", len(files))
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
