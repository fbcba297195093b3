"""The gateway component (`gateway.enabled`): Deployment, Service, Ingress route.

Typical usage example:

    .venv/bin/python -m pytest tests/chart/test_gateway.py -q
"""

import pytest

from tests.chart.helpers import CI_DIR, RELEASE, RenderError, objects, one, render

SCENARIO = CI_DIR / "08-gateway-values.yaml"
FULLNAME = RELEASE  # the release name already holds the chart name
GATEWAY = f"{FULLNAME}-gateway"


def gateway_pod(docs):
    return one(docs, "Deployment", GATEWAY)["spec"]["template"]["spec"]


def test_off_by_default():
    docs = render()
    names = [d["metadata"]["name"] for d in docs]
    assert GATEWAY not in names


def test_gateway_calls_the_server_service_over_grpc_with_the_model_name():
    docs = render(scenario=SCENARIO)
    args = gateway_pod(docs)["containers"][0]["args"]
    assert f"--grpc-target={FULLNAME}:8500" in args
    assert "--model-name=fashion_mnist" in args
    assert "--model-base-path=/models/fashion_mnist" in args
    assert "--top-k=3" in args and "--max-upload-bytes=4194304" in args


def test_selectors_never_overlap_with_the_server():
    docs = render(scenario=SCENARIO)
    gateway_selector = one(docs, "Deployment", GATEWAY)["spec"]["selector"][
        "matchLabels"
    ]
    server_service = one(docs, "Service", FULLNAME)["spec"]["selector"]
    gateway_labels = one(docs, "Deployment", GATEWAY)["spec"]["template"]["metadata"][
        "labels"
    ]
    assert not all(gateway_labels.get(k) == v for k, v in server_service.items())
    assert one(docs, "Service", GATEWAY)["spec"]["selector"] == gateway_selector


def test_same_hardening_and_probes_as_the_server():
    docs = render(scenario=SCENARIO)
    pod = gateway_pod(docs)
    container = pod["containers"][0]
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["automountServiceAccountToken"] is False
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert "tcpSocket" in container["livenessProbe"]
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    assert mounts["models"]["readOnly"] is True and mounts["tmp"]["mountPath"] == "/tmp"
    assert container["resources"]["limits"]["memory"] == "512Mi"


def test_ingress_routes_v1_to_tf_serving_and_root_to_the_gateway():
    docs = render(scenario=SCENARIO)
    paths = one(docs, "Ingress")["spec"]["rules"][0]["http"]["paths"]
    routes = {p["path"]: p["backend"]["service"]["name"] for p in paths}
    assert routes == {"/v1": FULLNAME, "/": GATEWAY}


def test_without_models_mount_class_names_fall_back():
    docs = render(scenario=SCENARIO, values={"gateway": {"mountModels": False}})
    pod = gateway_pod(docs)
    assert not any(
        a.startswith("--model-base-path") for a in pod["containers"][0]["args"]
    )
    assert [v["name"] for v in pod["volumes"]] == ["tmp"]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {
                "gateway": {"enabled": True, "ingress": {"enabled": True}},
                "ingress": {"rest": {"enabled": True}},
            },
            "goes to TF Serving and to the gateway",
        ),
        (
            {
                "gateway": {"ingress": {"enabled": True}},
                "ingress": {"rest": {"enabled": True}},
            },
            "gateway.ingress.enabled needs gateway.enabled=true",
        ),
        ({"gateway": {"topK": 0}}, "/gateway/topK"),
    ],
    ids=["same-path-twice", "route-without-gateway", "top-k-zero"],
)
def test_bad_gateway_values_name_the_fix(values, message):
    with pytest.raises(RenderError, match=message.replace(".", r"\.")):
        render(values=values)


def test_network_policy_admits_the_gateway_port_by_name():
    docs = render(scenario=SCENARIO)
    policy = one(docs, "NetworkPolicy")
    ports = [p["port"] for p in policy["spec"]["ingress"][0]["ports"]]
    assert "http" in ports
    gateway_ports = gateway_pod(docs)["containers"][0]["ports"]
    assert [p["name"] for p in gateway_ports] == ["http"]
    assert len(objects(docs, "Deployment")) == 2
