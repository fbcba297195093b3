"""Generate tfserving_contract/tf_serving_apis.binpb from the installed protos.

The client tools speak TF Serving's gRPC API and read its config and signature
messages, but must not need TensorFlow (2 GB) to do so. This script collects
the ``FileDescriptorProto`` of every ``.proto`` file the PredictionService and
ModelService APIs and ModelServerConfig depend on, from the generated ``*_pb2.py``
files of the pinned ``tensorflow-serving-api`` and ``tensorflow`` wheels, and
writes them as one ``FileDescriptorSet`` (dependencies first; the
``google/protobuf`` well-known files are left out: the protobuf runtime ships
them, so the set does not change with its version). The ``*_pb2.py``
files are read as text (the serialized descriptor passed to
``AddSerializedFile``), never imported: importing any ``tensorflow.*`` module
runs TensorFlow's package ``__init__``.

``make verify`` regenerates the file and fails when it differs from the
committed copy; ``make protos`` rewrites it after a version bump.

Typical usage example:

    .venv/bin/python hack/update/tf_serving_protos.py [--out PATH]
"""

import argparse
import ast
import importlib.util
import sys
from pathlib import Path

from google.protobuf import descriptor_pb2

REPO_ROOT = Path(__file__).resolve().parents[2]
OUT_FILE = REPO_ROOT / "tfserving_contract" / "tf_serving_apis.binpb"
ROOT_PACKAGES = ("tensorflow_serving", "tensorflow")
ENTRY_MODULES = (
    "tensorflow_serving.config.model_server_config_pb2",
    "tensorflow_serving.apis.model_service_pb2",
    "tensorflow_serving.apis.prediction_service_pb2",
)


def package_roots() -> dict[str, Path]:
    """Returns the site directory of each root package, found without importing it.

    Raises:
        SystemExit: a package is not installed.
    """
    roots: dict[str, Path] = {}
    for name in ROOT_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            raise SystemExit(
                f"package {name!r} is not installed: run `make deps` (it installs "
                "tensorflow and tensorflow-serving-api at the versions.env pins)"
            )
        roots[name] = Path(next(iter(spec.submodule_search_locations))).parent
    return roots


def _literal_bytes(node: ast.expr) -> bytes | None:
    """A bytes literal, or old protoc's ``_b("...")`` (a str encoded as latin-1)."""
    if isinstance(node, ast.Call) and node.args and isinstance(node.func, ast.Name):
        if node.func.id == "_b":
            value = ast.literal_eval(node.args[0])
            return value.encode("latin-1") if isinstance(value, str) else None
    if isinstance(node, ast.Constant) and isinstance(node.value, bytes):
        return node.value
    return None


def parse_generated(pb2_path: Path) -> tuple[bytes, list[str]]:
    """Returns the serialized descriptor and the ``*_pb2`` modules a file imports.

    New protoc output passes the descriptor to ``AddSerializedFile``; old output
    (some of tensorflow-serving-api's services) to ``FileDescriptor(serialized_pb=)``.
    """
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
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr == "AddSerializedFile" and node.args:
                data = _literal_bytes(node.args[0]) or data
            elif node.func.attr == "FileDescriptor":
                for keyword in node.keywords:
                    if keyword.arg == "serialized_pb":
                        data = _literal_bytes(keyword.value) or data
    if data is None:
        raise SystemExit(f"no serialized descriptor found in {pb2_path}")
    return data, imports


def collect(roots: dict[str, Path]) -> descriptor_pb2.FileDescriptorSet:
    """Returns the entry modules' files and their dependencies, dependencies first."""
    out = descriptor_pb2.FileDescriptorSet()
    done: set[str] = set()

    def add(module_name: str) -> None:
        if module_name in done:
            return
        done.add(module_name)
        if module_name.startswith("google.protobuf."):
            return
        top = module_name.split(".", 1)[0]
        if top not in roots:
            raise SystemExit(f"cannot locate {module_name}: unknown package {top}")
        pb2 = roots[top].joinpath(*module_name.split(".")).with_suffix(".py")
        if not pb2.is_file():
            raise SystemExit(f"cannot locate {module_name}: {pb2} is missing")
        data, imports = parse_generated(pb2)
        for dependency in imports:
            add(dependency)
        out.file.add().ParseFromString(data)

    for module_name in ENTRY_MODULES:
        add(module_name)
    return out


def render() -> bytes:
    """Returns the descriptor set's bytes (deterministic serialization)."""
    return collect(package_roots()).SerializeToString(deterministic=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT_FILE, help="file to write")
    args = parser.parse_args(argv)
    data = render()
    args.out.write_bytes(data)
    count = len(descriptor_pb2.FileDescriptorSet.FromString(data).file)
    print(f"wrote {args.out} ({count} proto files, {len(data)} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
