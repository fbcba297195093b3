"""Prepare offline Kubernetes JSON schemas for kubeconform.

The kubernetes-validate package ships strict schemas generated from the
Kubernetes OpenAPI spec (``v<version>-local-strict/<kind>[-<group>]-<version>.json``),
but each file carries an ``https://kubernetes.io/...`` ``$id`` and refers to
``/api/_definitions.json``, which kubeconform would try to download. This
copies one version's directory with the ``$id`` dropped and the references made
relative, so kubeconform resolves them on disk.

Typical usage example:

    python hack/verify/kube_schemas.py 1.29.0 .cache/kube-schemas
"""

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

import kubernetes_validate

logger = logging.getLogger(__name__)

SOURCE_ROOT = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
REMOTE_REF = "/api/_definitions.json"


def prepare(version: str, cache_root: Path) -> Path:
    """Write the relocatable strict schemas of ``version`` under ``cache_root``.

    Args:
        version: Kubernetes version such as ``1.29.0``.
        cache_root: Directory that receives ``v<version>-local-strict/``.

    Returns:
        The directory holding the prepared schemas.

    Raises:
        FileNotFoundError: kubernetes-validate has no schemas for ``version``.
    """
    name = f"v{version.removeprefix('v')}-local-strict"
    source = SOURCE_ROOT / name
    target = cache_root / name
    if not source.is_dir():
        known = sorted(p.name for p in SOURCE_ROOT.glob("v*-local-strict"))
        raise FileNotFoundError(
            f"no schemas for Kubernetes {version} in {SOURCE_ROOT}; available: "
            f"{', '.join(known)}. Upgrade kubernetes-validate in pyproject.toml."
        )
    if (target / "_definitions.json").is_file():
        return target
    cache_root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=cache_root))
    for path in source.glob("*.json"):
        schema = json.loads(path.read_text())
        schema.pop("$id", None)
        text = json.dumps(schema).replace(f'"{REMOTE_REF}#', '"_definitions.json#')
        (staging / path.name).write_text(text)
    try:
        os.replace(staging, target)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not (target / "_definitions.json").is_file():
            raise
    logger.info("prepared %s", target)
    return target


def main(argv: list[str] | None = None) -> int:
    """Prepare the schemas and print their directory."""
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("version", help="Kubernetes version, e.g. 1.29.0")
    parser.add_argument(
        "cache_root", type=Path, help="directory that receives the prepared schemas"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    try:
        print(prepare(args.version, args.cache_root))
    except FileNotFoundError as error:
        logger.error("%s", error)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
