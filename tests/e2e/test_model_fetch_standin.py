"""Models fetched from a real S3 API server into the pods (TF Serving STAND-IN image).

A moto S3 server runs on the host at its address on kind's docker network (pods
reach it through the node's masquerade; nothing leaves the machine); the exported
model is uploaded as versions 1 and 2 with a SHA256SUMS manifest; ci/11-s3-fetch
installs with an emptyDir model volume, credentials in a Secret, and the locally
built model-fetch image. The server must come up serving version 2 and pass the
smoke test. Not a test of TensorFlow Serving itself.
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from tests.e2e.conftest import Releases
from tests.e2e.kube import CHART_DIR, Kube, kind_network_gateway
from tests.e2e.test_scenarios_standin import run_smoke
from tests.e2e.workload import publish_version
from tests.model_fetch.conftest import (
    BUCKET,
    CREDENTIALS,
    manifest_for,
    moto_server,
    stop,
    upload_version,
)

pytestmark = [pytest.mark.kind, pytest.mark.timeout(600)]

SCENARIO = CHART_DIR / "ci" / "11-s3-fetch-values.yaml"


def test_init_container_fetches_from_s3_and_the_server_serves_it(
    kube: Kube,
    releases: Releases,
    trained_models: dict[int, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    record_property,
) -> None:
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    proc, endpoint = moto_server(tmp_path, host=kind_network_gateway())
    try:
        client = boto3.session.Session().client("s3", endpoint_url=endpoint)
        client.create_bucket(Bucket=BUCKET)
        for version in (1, 2):
            upload_version(client, trained_models[version], "fashion_mnist", version)
        client.put_object(
            Bucket=BUCKET,
            Key="fashion_mnist/SHA256SUMS",
            Body=manifest_for({1: trained_models[1], 2: trained_models[2]}).encode(),
        )
        release = releases.new("fetch")
        kube.kubectl(
            "create",
            "secret",
            "generic",
            "model-store-credentials",
            "-n",
            release.namespace,
            f"--from-literal=AWS_ACCESS_KEY_ID={CREDENTIALS['AWS_ACCESS_KEY_ID']}",
            f"--from-literal=AWS_SECRET_ACCESS_KEY={CREDENTIALS['AWS_SECRET_ACCESS_KEY']}",
            f"--from-literal=AWS_REGION={CREDENTIALS['AWS_DEFAULT_REGION']}",
        )
        sets = {
            "modelFetch.endpointUrl": endpoint,
            "modelFetch.image.tag": kube.versions["MODEL_FETCH_TAG"],
        }
        releases.install(release, [SCENARIO], sets)
        record_property("install_s", round(release.install_s, 1))
        logs = kube.kubectl(
            "logs",
            "-n",
            release.namespace,
            "-l",
            "app.kubernetes.io/name=tf-serving",
            "-c",
            "fetch-models",
            "--tail=50",
        ).stdout
        (release.out_dir / "fetch-models.log").write_text(logs)
        assert "fetched versions [1, 2]" in logs, logs

        # The smoke test reads sample requests from a local copy of the versions.
        for version in (1, 2):
            publish_version(trained_models[version], release.base_path, version)
        smoke = run_smoke(
            kube,
            release.name,
            release.namespace,
            release.base_path,
            release.out_dir / "smoke.json",
            "--expect-versions",
            "2",
        )
        (release.out_dir / "smoke.txt").write_text(smoke.stdout + smoke.stderr)
        assert smoke.returncode == 0, smoke.stdout + smoke.stderr
        report = json.loads((release.out_dir / "smoke.json").read_text())
        print(f"standin model fetch from S3: {report['summary']}")
    finally:
        stop(proc)
