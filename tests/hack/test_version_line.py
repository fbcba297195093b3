"""One TensorFlow version line: every place that names the TF Serving or TensorFlow
release agrees with hack/versions.env.

A SavedModel written by a newer TensorFlow is not guaranteed to load in an older
server, so the exporter's tensorflow, the serving API protos, the stand-in's
runtime and the server the chart deploys share one major.minor, and every file
that names the TF Serving release names TF_SERVING_VERSION.

Typical usage example:

    .venv/bin/python -m pytest tests/hack/test_version_line.py -q
"""

import importlib.metadata
import json
import re
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from tests.chart.helpers import versions_env

REPO_ROOT = Path(__file__).resolve().parents[2]
PINS = versions_env()
TF_SERVING = PINS["TF_SERVING_VERSION"]
PYTHON_PINS = {
    "tensorflow": PINS["TENSORFLOW_VERSION"],
    "tensorflow-serving-api": PINS["TENSORFLOW_SERVING_API_VERSION"],
}
# Files that cite TF Serving by release: each citation must name TF_SERVING.
CITING_FILES = [
    "README.md",
    *sorted(str(p.relative_to(REPO_ROOT)) for p in (REPO_ROOT / "docs").glob("*.md")),
    "charts/tf-serving/values.yaml",
    "charts/tf-serving/README.md.gotmpl",
    "charts/tf-serving/README.md",
    "testing/tfserving_standin/README.md",
    "testing/tfserving_standin/constants.py",
    "k8s/manifests/tf-serving.yaml",
]
_CITATIONS = [
    re.compile(r"tensorflow/serving/(?:blob|tree)/([^/\s]+)/"),
    re.compile(r"tensorflow/serving:(\d+\.\d+\.\d+)"),
    re.compile(r"TF Serving (\d+\.\d+(?:\.\d+)?)\b"),
    re.compile(r"\bat (?:tag )?(\d+\.\d+\.\d+)\b"),
    re.compile(r"`git show (\d+\.\d+\.\d+):"),
]


def major_minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def pyproject_pins() -> dict[str, set[str]]:
    """Every ``name==version`` of both pyproject.toml files, extras included."""
    lists = []
    for path in ("pyproject.toml", "testing/pyproject.toml"):
        project = tomllib.loads((REPO_ROOT / path).read_text())["project"]
        lists += [project["dependencies"]]
        lists += project.get("optional-dependencies", {}).values()
    pins: dict[str, set[str]] = {}
    for dep in (dep for deps in lists for dep in deps):
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)==([^;\s]+)", dep)
        if match:
            pins.setdefault(match[1].lower(), set()).add(match[2])
    return pins


def test_tensorflow_and_serving_api_share_the_servers_major_minor():
    for name, version in PYTHON_PINS.items():
        assert major_minor(version) == major_minor(TF_SERVING), name


def test_pyproject_pins_are_the_versions_env_pins():
    pins = pyproject_pins()
    for name, version in PYTHON_PINS.items():
        assert pins.get(name) == {version}, (
            f"pyproject.toml pins {name}=={pins.get(name)}"
        )


def test_chart_app_version_is_the_tf_serving_version():
    chart = yaml.safe_load((REPO_ROOT / "charts/tf-serving/Chart.yaml").read_text())
    assert chart["appVersion"] == TF_SERVING


def test_values_image_tag_defaults_to_the_tf_serving_version():
    values = yaml.safe_load((REPO_ROOT / "charts/tf-serving/values.yaml").read_text())
    assert values["image"]["tag"] in ("", TF_SERVING)
    manifests = (REPO_ROOT / "k8s/manifests/tf-serving.yaml").read_text()
    images = set(re.findall(r"image: (tensorflow/serving:\S+)", manifests))
    assert images == {f"tensorflow/serving:{TF_SERVING}"}


@pytest.mark.parametrize(
    "path",
    ["hack/data/tf_serving_flags.json"],
)
def test_flag_list_is_generated_from_the_tf_serving_tag(path):
    data = json.loads((REPO_ROOT / path).read_text())
    assert data["tf_serving_version"] == TF_SERVING
    assert data["sources"]
    assert all(f"/blob/{TF_SERVING}/" in url for url in data["sources"])


def test_standin_readme_is_checked_against_the_tf_serving_tag():
    text = (REPO_ROOT / "testing/tfserving_standin/README.md").read_text()
    checked = re.findall(r"checked against TF Serving's source \(([^)]*)\)", text)
    assert checked == [f"tensorflow/serving at tag {TF_SERVING}"]


@pytest.fixture(scope="module")
def image_requirements():
    sys.path.insert(0, str(REPO_ROOT / "hack" / "lib"))
    try:
        import image_requirements
    finally:
        sys.path.pop(0)
    return image_requirements


def test_standin_image_resolves_the_pinned_tensorflow(image_requirements):
    """pip resolves . and testing for the image's CPython 3.11 (glibc 2.36)."""
    wanted = image_requirements.resolve([".", "testing"], "3.11", 36, "x86_64")
    for name, version in PYTHON_PINS.items():
        assert f"{name}=={version}" in wanted


def test_client_tools_image_resolves_without_tensorflow(image_requirements):
    wanted = image_requirements.resolve(["."], "3.11", 36, "x86_64")
    names = {line.split("==")[0] for line in wanted}
    assert {"grpcio", "protobuf", "numpy", "aiohttp"} <= names
    assert not names & {"tensorflow", "tensorflow-serving-api", "keras"}


def test_the_venv_runs_the_pinned_tensorflow():
    """The stand-in and the exporter run this TensorFlow (make deps installs it)."""
    for name, version in PYTHON_PINS.items():
        assert importlib.metadata.version(name) == version, f"rerun make deps ({name})"


@pytest.mark.parametrize("path", CITING_FILES)
def test_every_tf_serving_release_cited_is_the_pinned_one(path):
    text = (REPO_ROOT / path).read_text()
    # Upgrade notes name the releases the chart came from; they are history.
    text = re.split(r"^### To ", text, maxsplit=1, flags=re.M)[0]
    cited = {m for pattern in _CITATIONS for m in pattern.findall(text)}
    stale = {v for v in cited if not TF_SERVING.startswith(v) and v != TF_SERVING}
    assert not stale, f"{path} cites TF Serving {sorted(stale)}, pinned {TF_SERVING}"


def test_in_cluster_load_image_is_the_versions_env_tag():
    from loadtest import constants

    expected = f"tf-serving-client-tools:{PINS['CLIENT_TOOLS_TAG']}"
    assert constants.CLIENT_TOOLS_IMAGE == expected


APP_DOCKERFILES = ["tfserving-gateway", "model-fetch", "client-tools"]


@pytest.mark.parametrize("image", APP_DOCKERFILES)
def test_app_images_default_to_the_pinned_public_python_base(image):
    """A plain `docker build` uses APP_BASE_IMAGE: the offline base's Python, Debian."""
    dockerfile = (REPO_ROOT / "images" / image / "Dockerfile").read_text()
    default = re.search(r"^ARG BASE_IMAGE=(\S+)$", dockerfile, flags=re.M)
    assert default, f"images/{image}/Dockerfile has no default BASE_IMAGE"
    assert default.group(1) == PINS["APP_BASE_IMAGE"]
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert (
        PINS["APP_BASE_IMAGE"] == f"python:{python}-slim-{PINS['STANDIN_DEBIAN_SUITE']}"
    )
