"""Find a Helm release's TF Serving Service with the kubernetes client.

Typical usage example:

    service = cluster.find_service("tf-serving", namespace="default", context=None)
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from smoke_tests import constants

logger = logging.getLogger(__name__)


class ClusterError(RuntimeError):
    """The cluster cannot be reached or holds no matching Service."""


@dataclass
class ServiceRef:
    """A Service with named http and grpc ports."""

    name: str
    namespace: str
    ports: dict[str, int]


def pick_service(services: list[object], namespace: str, release: str) -> ServiceRef:
    """Chooses the Service exposing ports named http and grpc.

    Prefers a ClusterIP Service over a headless one (``clusterIP: None``).

    Raises:
        ClusterError: no Service has both named ports.
    """
    wanted = {constants.HTTP_PORT_NAME, constants.GRPC_PORT_NAME}
    candidates = []
    for svc in services:
        ports = {p.name: p.port for p in (svc.spec.ports or []) if p.name}
        if wanted <= set(ports):
            headless = svc.spec.cluster_ip == "None"
            candidates.append((headless, svc.metadata.name, ports))
    if not candidates:
        names = [s.metadata.name for s in services] or "none"
        raise ClusterError(
            f"no Service labelled {constants.RELEASE_LABEL}={release} in namespace "
            f"{namespace} has ports named 'http' and 'grpc' (found: {names}); check "
            "--release/--namespace/--context"
        )
    _headless, name, ports = sorted(candidates)[0]
    return ServiceRef(name, namespace, ports)


def load_config(context: str | None) -> None:
    """Loads the kubeconfig (KUBECONFIG read now), else the in-cluster config.

    Raises:
        ClusterError: neither is available.
    """
    from kubernetes import config
    from kubernetes.config.config_exception import ConfigException

    try:
        config.load_kube_config(
            config_file=os.environ.get("KUBECONFIG"), context=context
        )
    except (ConfigException, FileNotFoundError, TypeError) as err:
        try:
            config.load_incluster_config()
        except ConfigException:
            raise ClusterError(
                f"cannot load a kubeconfig ({err}); set KUBECONFIG or --context"
            ) from err


def find_service(
    release: str, namespace: str, context: str | None, timeout: float = 15.0
) -> ServiceRef:
    """Lists Services labelled with the release and picks the serving one.

    Raises:
        ClusterError: kubeconfig cannot be loaded, the API fails, or no Service fits.
    """
    from kubernetes import client

    load_config(context)
    selector = f"{constants.RELEASE_LABEL}={release}"
    try:
        listed = client.CoreV1Api().list_namespaced_service(
            namespace, label_selector=selector, _request_timeout=timeout
        )
    except Exception as err:  # the client raises many transport types
        raise ClusterError(f"listing Services in {namespace} failed: {err}") from err
    service = pick_service(list(listed.items), namespace, release)
    logger.info("using Service %s/%s ports %s", namespace, service.name, service.ports)
    return service
