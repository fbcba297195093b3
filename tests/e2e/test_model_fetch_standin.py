"""Models fetched from a real S3 API server into the pods (TF Serving STAND-IN image).

A moto S3 server runs on the host at its address on kind's docker network (pods
reach it through the node's masquerade; nothing leaves the machine); the exported
model is uploaded as versions 1 and 2 with a SHA256SUMS manifest; ci/11-s3-fetch
installs with an emptyDir model volume, credentials in a Secret, and the locally
built model-fetch image. The server must come up serving version 2 and pass the
smoke test. Then, under a REST load, the store goes away and an upgrade rolls the
pods: the new pod's fetch fails after its bounded retries with a message naming
the source, the kubelet retries it, the old pod serves on (maxUnavailable 0) and
the load loses nothing; upgrading back removes the new pod. Not a test of
TensorFlow Serving itself.
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from tests.e2e.conftest import Release, Releases
from tests.e2e.kube import CHART_DIR, Kube, kind_network_gateway, wait_until
from tests.e2e.test_scenarios_standin import run_smoke
from tests.e2e.workload import (
    assert_load_lost_nothing,
    describe_load,
    finish_load,
    publish_version,
    start_service_load,
)
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
FETCH_CONTAINER = "fetch-models"
STORE_DOWN_LOAD_RATE = 10.0
STORE_DOWN_LOAD_S = 60.0
FETCH_RETRY_TIMEOUT_S = 120.0
STORE_DOWN_ERROR = "cannot reach the S3 endpoint for s3://models/fashion_mnist"


def rollout_with_store_down(
    kube: Kube, releases: Releases, release: Release, sets: dict[str, str]
) -> dict:
    """Upgrades (a pod annotation) with the store gone, under load; returns numbers."""
    old = set(kube.ready_pods(release.namespace, release.name))
    load = start_service_load(
        kube, release, "load-store-down", STORE_DOWN_LOAD_RATE, STORE_DOWN_LOAD_S
    )
    rolled = {**sets, "podAnnotations.tf-serving-k8s/e2e-rollout": "store-down"}
    releases.upgrade(release, [SCENARIO], rolled, wait=False)
    pod, status, retried_s = kube.wait_new_pod_restarted(
        release.namespace,
        release.name,
        old,
        FETCH_CONTAINER,
        FETCH_RETRY_TIMEOUT_S,
        init=True,
    )
    logs: list[str] = []

    def fetch_error_logged() -> bool:
        # The newest attempt's log, kept while the next one waits out its back-off
        # (read again should it catch an attempt still running).
        logs.append(kube.kubectl(
            "logs", "-n", release.namespace, pod, "-c", FETCH_CONTAINER, "--tail=5",
            check=False,
        ).stdout)  # fmt: skip
        return STORE_DOWN_ERROR in logs[-1]

    wait_until(fetch_error_logged, "the fetch error in the log", 30, poll_s=2)
    message = logs[-1]
    serving = set(kube.ready_pods(release.namespace, release.name))
    undo_s = releases.upgrade(release, [SCENARIO], sets)
    after = set(kube.ready_pods(release.namespace, release.name))
    summary = finish_load(*load, STORE_DOWN_LOAD_S)
    terminated = status.get("lastState", {}).get("terminated", {})
    result = {
        "fetch_failed_and_retried_after_s": round(retried_s, 1),
        "exit_code": terminated.get("exitCode"),
        "message": message.strip().splitlines()[-1],
        "old_pods_serving": len(serving & old),
        "undo_s": round(undo_s, 1),
        "same_pods_after_undo": after == old,
        "load": describe_load(summary),
    }
    assert terminated.get("exitCode") == 1, result
    assert serving >= old and after == old, result
    assert_load_lost_nothing(summary)
    return result


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
    store_down = rollout_with_store_down(kube, releases, release, sets)
    record_property("store_down", json.dumps(store_down))
    print(f"standin model fetch, store unreachable during a rollout: {store_down}")
