"""Where models.config lives: a local file or the release's ConfigMap.

Typical usage example:

    target = ConfigMapTarget("tf-serving-models", "serving")
    text = target.read(); target.write(new_text)
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from model_rollout.plan import RolloutError

CONFIG_KEY = "models.config"


def configmap_patch(text: str, resource_version: str | None) -> dict:
    """The ConfigMap patch body replacing models.config.

    With ``resource_version`` (from the read) the API server refuses the patch with
    409 Conflict when someone else (a helm upgrade, another rollout) changed the
    ConfigMap in between, instead of silently overwriting their change.
    """
    body: dict = {"data": {CONFIG_KEY: text}}
    if resource_version:
        body["metadata"] = {"resourceVersion": resource_version}
    return body


class FileTarget:
    """A models.config file (written atomically: temp file, then rename)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def describe(self) -> str:
        return str(self.path)

    def read(self) -> str:
        try:
            return self.path.read_text(encoding="utf-8")
        except OSError as err:
            raise RolloutError(f"cannot read {self.path}: {err}") from err

    def write(self, text: str) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".models.config.")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, self.path)


class ConfigMapTarget:
    """The `models.config` key of a ConfigMap (the chart's `<fullname>-models`)."""

    def __init__(self, name: str, namespace: str, api=None) -> None:
        if api is None:
            from kubernetes import client

            from smoke_tests.cluster import load_config

            load_config(None)
            api = client.CoreV1Api()
        self.api = api
        self.name = name
        self.namespace = namespace
        self.resource_version: str | None = None

    def describe(self) -> str:
        return f"configmap/{self.name} in {self.namespace}"

    def read(self) -> str:
        from kubernetes.client.exceptions import ApiException

        try:
            found = self.api.read_namespaced_config_map(self.name, self.namespace)
        except ApiException as err:
            raise RolloutError(
                f"cannot read {self.describe()}: {err.reason}; the chart names it "
                "<release fullname>-models"
            ) from err
        if CONFIG_KEY not in (found.data or {}):
            raise RolloutError(f"{self.describe()} has no {CONFIG_KEY} key")
        self.resource_version = found.metadata.resource_version
        return found.data[CONFIG_KEY]

    def write(self, text: str) -> None:
        from kubernetes.client.exceptions import ApiException

        body = configmap_patch(text, self.resource_version)
        try:
            self.api.patch_namespaced_config_map(self.name, self.namespace, body)
        except ApiException as err:
            if err.status == 409:
                raise RolloutError(
                    f"{self.describe()} changed after it was read (a helm upgrade or "
                    "another rollout); nothing was written: run the command again"
                ) from err
            raise RolloutError(f"cannot patch {self.describe()}: {err.reason}") from err
