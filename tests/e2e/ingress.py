"""Traffic through the e2e cluster's ingress controller (Traefik, serving IngressClass
nginx; tests/e2e/manifests/traefik.yaml): a test CA, the chart's TLS Secrets, REST and
gRPC over TLS to the Ingress host names, and the pods' own request counters.

The host reaches the controller through ``kubectl port-forward`` to its Service's
TLS port; the host name goes in SNI and in the Host header (``:authority`` for gRPC),
so routing and certificate checks are those a user's DNS name would get.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import grpc
import numpy as np
import urllib3
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from loadtest.payload import grpc_request_bytes, payload_from_request_file
from smoke_tests.portforward import PortForward
from tests.e2e.conftest import MODEL_NAME, Release
from tests.e2e.kube import ApiProxy, Kube, scrape_request_count

NAMESPACE = "tf-serving-ingress"
SERVICE = "svc/traefik"
TLS_PORT_NAME = "websecure"
PREDICT = "/tensorflow.serving.PredictionService/Predict"
REST_PORT = 8501
METRICS_PATH = "/monitoring/prometheus/metrics"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@dataclasses.dataclass(frozen=True)
class TestCA:
    """A CA made for one test, and the files of the certificates it signed."""

    cert: Path
    key: ec.EllipticCurvePrivateKey
    subject: x509.Name

    @classmethod
    def create(cls, directory: Path) -> TestCA:
        """A self-signed CA valid for one day, written to `directory`/ca.crt."""
        key = ec.generate_private_key(ec.SECP256R1())
        subject = _name("tf-serving e2e test CA")
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(key, hashes.SHA256())
        )
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "ca.crt"
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return cls(path, key, subject)

    def issue(self, host: str, directory: Path) -> tuple[Path, Path]:
        """A server certificate for `host`: (cert file, key file) in `directory`."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(host))
            .issuer_name(self.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), False)
            .sign(self.key, hashes.SHA256())
        )
        cert_path, key_path = directory / f"{host}.crt", directory / f"{host}.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(_pem_key(key))
        return cert_path, key_path


def create_tls_secrets(
    kube: Kube, namespace: str, ingresses: Iterable[dict], ca: TestCA, directory: Path
) -> None:
    """One kubernetes.io/tls Secret per `tls` entry of the chart's ingress values."""
    for ingress in ingresses:
        for tls in ingress.get("tls") or []:
            cert, key = ca.issue(tls["hosts"][0], directory)
            kube.kubectl(
                "create", "secret", "tls", tls["secretName"], "-n", namespace,
                f"--cert={cert}", f"--key={key}",
            )  # fmt: skip


def rest_pool(port: int, host: str, ca_cert: Path) -> urllib3.HTTPSConnectionPool:
    """HTTPS to the controller on loopback `port`, as `host` (SNI and verification)."""
    return urllib3.HTTPSConnectionPool(
        "127.0.0.1",
        port,
        server_hostname=host,
        assert_hostname=host,
        ca_certs=str(ca_cert),
        cert_reqs="CERT_REQUIRED",
        headers={"Host": host},
        timeout=urllib3.Timeout(total=10),
        retries=False,
    )


def rest_predictions(
    pool: urllib3.HTTPSConnectionPool, model: str, body: bytes, count: int
) -> tuple[list[int], dict]:
    """`count` predict POSTs on one keep-alive pool: their status codes, last reply."""
    codes, last = [], {}
    for _ in range(count):
        reply = pool.request(
            "POST",
            f"/v1/models/{model}:predict",
            body=body,
            # A request's headers replace the pool's: keep its Host.
            headers={**pool.headers, "Content-Type": "application/json"},
        )
        codes.append(reply.status)
        last = json.loads(reply.data) if reply.status == 200 else {}
    return codes, last


def grpc_channel(port: int, host: str, ca_cert: Path) -> grpc.Channel:
    """ONE TLS channel to the controller on loopback `port`, as `host`."""
    credentials = grpc.ssl_channel_credentials(root_certificates=ca_cert.read_bytes())
    return grpc.secure_channel(
        f"127.0.0.1:{port}",
        credentials,
        options=[
            ("grpc.ssl_target_name_override", host),
            ("grpc.default_authority", host),
        ],
    )


def grpc_predictions(channel: grpc.Channel, request: bytes, count: int) -> list[str]:
    """`count` Predict calls of serialized `request` on `channel`: their codes."""
    predict = channel.unary_unary(PREDICT)
    codes = []
    for _ in range(count):
        try:
            predict(request, timeout=10)
            codes.append("OK")
        except grpc.RpcError as err:
            codes.append(err.code().name)
    return codes


REST_REQUESTS = 100
GRPC_REQUESTS = 300
# Three pods; a per-connection balancer would give one of them all 300.
MIN_POD_SHARE = 0.25
ROUTED_TIMEOUT_S = 60.0


def wait_routed(pool: urllib3.HTTPSConnectionPool, model: str) -> float:
    """Seconds until the controller routes the model's status URL (it reads the
    Ingress and its Secrets asynchronously); AssertionError after the timeout."""
    started = time.monotonic()
    status = None
    while time.monotonic() - started < ROUTED_TIMEOUT_S:
        try:
            status = pool.request("GET", f"/v1/models/{model}").status
        except urllib3.exceptions.HTTPError as err:  # TLS before the Secret is read
            status = type(err).__name__
        if status == 200:
            return time.monotonic() - started
        time.sleep(1)
    raise AssertionError(
        f"the Ingress did not route within {ROUTED_TIMEOUT_S:.0f} s: {status}"
    )


def check_release(
    kube: Kube, release: Release, rest_host: str, grpc_host: str, ca_cert: Path
) -> dict:
    """REST predictions and a gRPC load on one channel through the controller.

    Returns the counts: REST status codes and whether the last reply matches the
    export's golden outputs; gRPC codes, and requests per pod from each pod's own
    ``:tensorflow:serving:request_count`` (read through the API server's proxy).
    """
    assets = release.base_path / "1" / "assets.extra"
    payload = payload_from_request_file(assets / "sample_request.json")
    golden = np.asarray(
        json.loads((assets / "golden_outputs.json").read_text())["predictions"]
    )
    pods = kube.ready_pods(release.namespace, release.name)
    forward = PortForward(SERVICE, [TLS_PORT_NAME], namespace=NAMESPACE)
    port = forward.start()[TLS_PORT_NAME]
    try:
        with ApiProxy(kube) as api:

            def counts() -> dict[str, int]:
                return {
                    pod: scrape_request_count(
                        api.pod_url(release.namespace, pod, REST_PORT) + METRICS_PATH,
                        MODEL_NAME,
                    )
                    for pod in pods
                }

            pool = rest_pool(port, rest_host, ca_cert)
            routed_s = wait_routed(pool, MODEL_NAME)
            codes, last = rest_predictions(
                pool, MODEL_NAME, payload.rest_body, REST_REQUESTS
            )
            predictions = np.asarray(last.get("predictions", []))
            matches = predictions.shape == golden.shape and bool(
                np.allclose(predictions, golden, rtol=1e-3, atol=1e-5)
            )
            before = counts()
            with grpc_channel(port, grpc_host, ca_cert) as channel:
                request = grpc_request_bytes(payload, MODEL_NAME)
                grpc_codes = grpc_predictions(channel, request, GRPC_REQUESTS)
            after = counts()
    finally:
        forward.stop()
    served = {pod: after[pod] - before[pod] for pod in pods}
    total = sum(served.values()) or 1
    return {
        "routed_after_s": round(routed_s, 1),
        "rest_codes": dict(Counter(str(code) for code in codes)),
        "rest_matches_golden": matches,
        "grpc_codes": dict(Counter(grpc_codes)),
        "grpc_per_pod": served,
        "grpc_shares": {pod: round(n / total, 3) for pod, n in served.items()},
    }
