"""The model-fetch init container (`modelFetch.enabled`, ci/11).

Typical usage example:

    .venv/bin/python -m pytest tests/chart/test_model_fetch.py -q
"""

import pytest

from tests.chart.helpers import CI_DIR, RenderError, pod_spec, render

SCENARIO = CI_DIR / "11-s3-fetch-values.yaml"


def init_containers(docs):
    return {c["name"]: c for c in pod_spec(docs)["initContainers"]}


def test_fetch_runs_before_the_layout_check_and_writes_the_model_base_path():
    docs = render(scenario=SCENARIO)
    names = [c["name"] for c in pod_spec(docs)["initContainers"]]
    assert names == ["fetch-models", "check-model-layout"]
    fetch = init_containers(docs)["fetch-models"]
    assert fetch["args"][:2] == [
        "--source=s3://models/fashion_mnist",
        "--model-base-path=/models/fashion_mnist",
    ]
    assert "--latest=2" in fetch["args"]
    assert "--endpoint-url=http://minio.storage.svc.cluster.local:9000" in fetch["args"]
    mount = next(m for m in fetch["volumeMounts"] if m["name"] == "models")
    assert mount.get("readOnly", False) is False
    assert "emptyDir" in next(
        v for v in pod_spec(docs)["volumes"] if v["name"] == "models"
    )


def test_credentials_come_from_the_secret_and_the_container_is_hardened():
    docs = render(scenario=SCENARIO)
    fetch = init_containers(docs)["fetch-models"]
    assert "envFrom" not in fetch  # secrets as files, not environment variables
    assert "--credentials-dir=/var/run/secrets/model-fetch/env" in fetch["args"]
    volume = next(
        v for v in pod_spec(docs)["volumes"] if v["name"] == "fetch-credentials"
    )
    assert volume["secret"]["secretName"] == "model-store-credentials"
    security = fetch["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["capabilities"]["drop"] == ["ALL"]
    assert security["runAsNonRoot"] is True


def test_gcs_key_is_mounted_and_named():
    values = {
        "modelFetch": {
            "source": "gs://bucket/m",
            "credentialsSecret": "",
            "gcsCredentialsSecret": "gcs-key",
        }
    }
    docs = render(scenario=SCENARIO, values=values)
    fetch = init_containers(docs)["fetch-models"]
    env = {e["name"]: e["value"] for e in fetch["env"]}
    assert (
        env["GOOGLE_APPLICATION_CREDENTIALS"]
        == "/var/run/secrets/model-fetch/gcs/key.json"
    )
    volume = next(
        v for v in pod_spec(docs)["volumes"] if v["name"] == "gcs-credentials"
    )
    assert volume["secret"]["secretName"] == "gcs-key"
    assert not any(a.startswith("--credentials-dir") for a in fetch["args"])


def test_tarball_checksum_and_versions_are_passed():
    values = {
        "modelFetch": {
            "source": "https://example.com/m.tar.gz",
            "sha256": "a" * 64,
            "versions": [3, 4],
            "latest": 0,
        }
    }
    args = init_containers(render(scenario=SCENARIO, values=values))["fetch-models"][
        "args"
    ]
    assert f"--sha256={'a' * 64}" in args and "--versions=3,4" in args
    assert not any(a.startswith("--latest") for a in args)


def test_off_by_default():
    assert "fetch-models" not in init_containers(render())


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"modelFetch": {"enabled": True}, "modelStorage": {"type": "emptyDir"}},
            "modelFetch.source is required",
        ),
        (
            {"modelFetch": {"enabled": True, "source": "s3://b/p"}},
            "set modelStorage.readOnly=false or use modelStorage.type=emptyDir",
        ),
        ({"modelFetch": {"source": "ftp://x/y"}}, "/modelFetch/source"),
        ({"modelFetch": {"sha256": "xyz"}}, "/modelFetch/sha256"),
    ],
    ids=["no-source", "read-only-claim", "bad-scheme", "bad-sha256"],
)
def test_bad_fetch_values_name_the_fix(values, message):
    with pytest.raises(RenderError) as err:
        render(values=values)
    assert message in str(err.value)
