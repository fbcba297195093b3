"""The memory check before ``tfs-rollout load`` adds a version to a served model.

The limit is the ``resources.limits.memory`` of the ``tf-serving`` container in the
Deployment that mounts the models.config ConfigMap (the chart's
``<fullname>-models``), or ``--memory-limit``. The figures are those tfs-export
recorded in each version's export_metadata.json under ``--model-base-path`` (a
local copy of the model's base path, e.g. the ``models/<name>`` kind mounts). The
check itself is tfserving_contract.headroom's.

Typical usage example:

    verdict = check_load(args, target, config, "m", 3)
    print(*verdict.warnings, sep="\n", file=sys.stderr)
"""

from __future__ import annotations

import argparse
from typing import Any

from model_rollout import plan
from model_rollout.plan import RolloutError
from model_rollout.targets import ConfigMapTarget
from tfserving_contract import headroom
from tfserving_contract.quantity import QuantityError, parse_bytes

SERVER_CONTAINER = "tf-serving"


def deployment_limit(
    configmap: str, namespace: str, api: Any = None
) -> tuple[int | None, str]:
    """The tf-serving container's memory limit in the Deployment mounting `configmap`.

    Returns:
        (bytes or None, where it came from, or why there is none).

    Raises:
        RolloutError: the limit is not a memory quantity.
    """
    if api is None:
        from kubernetes import client

        api = client.AppsV1Api()
    try:
        listed = api.list_namespaced_deployment(namespace)
    except Exception as err:  # the client raises many transport types
        return None, f"cannot list Deployments in {namespace} ({err})"
    for deployment in listed.items:
        spec = deployment.spec.template.spec
        mounted = {
            v.config_map.name for v in (spec.volumes or []) if v.config_map is not None
        }
        if configmap not in mounted:
            continue
        name = deployment.metadata.name
        for container in spec.containers:
            if container.name != SERVER_CONTAINER:
                continue
            limits = (container.resources and container.resources.limits) or {}
            where = f"deployment/{name} container {SERVER_CONTAINER}"
            if "memory" not in limits:
                return None, f"{where} sets no resources.limits.memory"
            try:
                return parse_bytes(limits["memory"]), f"{where} limits.memory"
            except QuantityError as err:
                raise RolloutError(f"{where}: {err}") from err
    return None, (
        f"no Deployment in {namespace} mounts configmap/{configmap} in a container "
        f"named {SERVER_CONTAINER}"
    )


def check_load(
    args: argparse.Namespace,
    target: Any,
    config: Any,
    model: str,
    version: int,
    apps_api: Any = None,
) -> headroom.Verdict:
    """Checks that loading `version` beside the served ones fits the memory limit.

    Args:
        args: tfs-rollout's flags (memory_check, memory_limit, model_base_path,
            server_memory_baseline).
        target: Where models.config lives; a ConfigMapTarget names the Deployment.
        config: The parsed models.config before the load.
        model: The model to load a version of.
        version: The version to load.
        apps_api: An AppsV1Api (default: the kubeconfig's).

    Returns:
        Warnings (other models, unrecorded figures, no limit, over the limit) and,
        with --memory-check refuse over the limit, the refusal.
    """
    served = plan.served(config, model)
    if args.memory_check == "off" or version in served:
        return headroom.Verdict([])
    warnings = []
    others = [c.name for c in config.model_config_list.config if c.name != model]
    if others:
        warnings.append(
            f"memory check: models.config also serves {others} in this container; "
            "their memory is not counted"
        )
    if args.model_base_path is None:
        warnings.append(
            f"memory check: the figures of {model}'s versions cannot be read, so "
            "loading it cannot be checked: pass --model-base-path (a local copy of "
            f"its base path, e.g. models/{model}), or --memory-check off"
        )
        return headroom.Verdict(warnings)
    limit, source = args.memory_limit, "--memory-limit"
    if limit is None and isinstance(target, ConfigMapTarget):
        limit, source = deployment_limit(target.name, target.namespace, apps_api)
        if limit is None:
            warnings.append(f"memory check: {source}")
    recorded = headroom.figures(args.model_base_path, [*served, version])
    swap = headroom.Swap(
        model, version, recorded.pop(version), {v: recorded[v] for v in served}
    )
    settings = headroom.Settings(
        mode=args.memory_check,
        limit_bytes=limit,
        limit_source=source,
        baseline_bytes=args.server_memory_baseline,
    )
    verdict = headroom.check(swap, settings)
    return headroom.Verdict([*warnings, *verdict.warnings], verdict.refusal)
