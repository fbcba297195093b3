"""The README's "Query the model" blocks, run as printed, against `make demo`'s cluster.

`.ci/run` runs `make demo` and then these tests with DEMO_REQUIRE_CLUSTER=1, so the
user's own query path (kubectl port-forward, curl, gRPC with tensorflow-serving-api)
is checked against the golden outputs of the version the demo exported. Without that
cluster they skip (as in `make test`), unless DEMO_REQUIRE_CLUSTER=1, where they fail.
On a machine without a registry the demo serves the TF Serving STAND-IN image, so
these tests then exercise the stand-in, not TensorFlow Serving.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from smoke_tests import compare, inputs
from tests.demo.conftest import BASE_PATH, REPO_ROOT
from tfserving_contract import payloads

README = REPO_ROOT / "README.md"

pytestmark = pytest.mark.demo


def readme_block(language: str) -> str:
    """Returns the README's first ``language`` block under "## Query the model"."""
    text = README.read_text(encoding="utf-8")
    heading = re.search(r"^#{2,3} Query the model$", text, re.M)
    assert heading, "README has no 'Query the model' section"
    section = text[heading.end() :].split("\n## ", 1)[0]
    match = re.search(rf"```{language}\n(.*?)```", section, re.S)
    assert match, f"README 'Query the model' has no {language} block"
    return match.group(1)


def json_documents(text: str) -> list[object]:
    """Splits curl's concatenated JSON answers from port-forward's own lines."""
    text = re.sub(r"(Forwarding from|Handling connection for) [^\n]*\n", "", text)
    decoder, docs, pos = json.JSONDecoder(), [], 0
    while pos < len(text.rstrip()):
        while text[pos].isspace():
            pos += 1
        doc, pos = decoder.raw_decode(text, pos)
        docs.append(doc)
    return docs


@pytest.fixture(scope="module")
def bash_block_output(demo_cluster: None, tmp_path_factory) -> Iterator[str]:
    """Runs the README's bash block; its backgrounded port-forward stays up for gRPC."""
    out = tmp_path_factory.mktemp("readme") / "stdout"
    with out.open("w") as stdout:
        proc = subprocess.Popen(
            ["bash", "-o", "errexit", "-o", "pipefail", "-c", readme_block("bash")],
            cwd=REPO_ROOT,
            stdout=stdout,
            start_new_session=True,
        )
    try:
        assert proc.wait(timeout=120) == 0, out.read_text()
        yield out.read_text()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)


def golden() -> tuple[dict[str, np.ndarray], inputs.SampleBundle]:
    bundle = inputs.load(inputs.sample_dir_from_base(BASE_PATH))
    outputs = sorted(bundle.metadata["outputs"])
    return payloads.parse_predictions(bundle.golden, outputs), bundle


def test_curl_through_port_forward_returns_the_golden_prediction(
    bash_block_output: str,
) -> None:
    status, answer = json_documents(bash_block_output)
    versions = [v["state"] for v in status["model_version_status"]]
    assert versions == ["AVAILABLE"], status
    expected, bundle = golden()
    served = payloads.parse_predictions(answer, sorted(expected))
    rtol, atol = bundle.tolerance
    assert compare.outputs(served, expected, rtol, atol) == []


def test_grpc_client_returns_the_golden_prediction(bash_block_output: str) -> None:
    import tensorflow as tf

    namespace: dict[str, object] = {}
    cwd = Path.cwd()
    os.chdir(REPO_ROOT)
    try:
        exec(compile(readme_block("python"), "README.md:python", "exec"), namespace)
    finally:
        os.chdir(cwd)
    reply = namespace["reply"]
    served = {name: tf.make_ndarray(t) for name, t in reply.outputs.items()}
    expected, bundle = golden()
    rtol, atol = bundle.tolerance
    assert compare.outputs(served, expected, rtol, atol) == []
