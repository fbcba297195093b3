"""Model versions for the TF Serving stand-in: polling, policy, load and unload.

Follows TF Serving's FileSystemStoragePathSource (numeric sub-directories are
versions, others are ignored; latest/all/specific policies),
AvailabilityPreservingPolicy (a new version loads before an old one unloads; a
version that fails to load goes to END with its error and the previous one
keeps serving), ServableStateMonitor (states START, LOADING, AVAILABLE,
UNLOADING, END are remembered after unload) and ServerCore's label rules.

Typical usage example:

    manager = ModelManager(options, load_options)
    manager.reload_config(model_server_config, first=True)   # blocks until loaded
    with manager.servable("m", version=None, label=None) as servable:
        ...
"""

import contextlib
import dataclasses
import gc
import logging
import os
import threading

from tfserving_contract.layout import parse_version
from tfserving_standin import config as config_lib
from tfserving_standin.config import ServerOptions
from tfserving_standin.errors import Code, ServingError
from tfserving_standin.servable import LoadOptions, Servable

logger = logging.getLogger(__name__)

START, LOADING, AVAILABLE, UNLOADING, END = (
    "START",
    "LOADING",
    "AVAILABLE",
    "UNLOADING",
    "END",
)


def settle_heap(collect: bool) -> None:
    """Freezes the heap after a load (after collecting it, on an unload).

    The real server is C++ and never pauses to collect. Here a full cyclic
    collection walks TensorFlow's objects (363k after import: about 200 ms on
    2 cores), and REST's JSON churn triggers one every few seconds: measured
    250-600 ms stalls at p50 8 ms. Frozen objects are skipped by the
    collector (8.8 ms a pass); the collection on unload frees the unloaded
    version's cycles before the rest is frozen again.
    """
    if collect:
        gc.unfreeze()
        gc.collect()
    gc.freeze()


def servable_id(name: str, version: int) -> str:
    """ServableId::DebugString."""
    return f"{{name: {name} version: {version}}}"


@dataclasses.dataclass
class VersionStatus:
    """One row of GetModelStatus: a version, its state and its health."""

    version: int
    state: str
    error: ServingError | None = None


@dataclasses.dataclass
class _Harness:
    version: int
    path: str
    aspired: bool = True
    state: str = START
    servable: Servable | None = None


def aspired_versions(model) -> list[tuple[int, str]]:
    """Polls one base path and applies the model's version policy.

    Returns:
        [(version, path)] the policy wants served.

    Raises:
        ServingError: the base path does not exist.
    """
    base = model.base_path
    if not os.path.exists(base):
        raise ServingError(
            Code.INVALID_ARGUMENT,
            f"Could not find base path {base} for servable {model.name} with error "
            f"NOT_FOUND: {base} not found",
        )
    children = sorted(os.listdir(base))
    by_version: dict[int, str] = {}
    for child in children:
        version = parse_version(child)
        if version is None:
            continue
        if version in by_version:
            logger.warning(
                "Duplicate version directories detected. Version %d will be loaded "
                "from %s, %s will be ignored.",
                version,
                child,
                by_version[version],
            )
        by_version[version] = child
    policy = model.model_version_policy
    choice = policy.WhichOneof("policy_choice")
    if choice == "all":
        chosen = sorted(by_version)
    elif choice == "specific":
        wanted = set(policy.specific.versions)
        chosen = sorted(v for v in by_version if v in wanted)
        for missing in sorted(wanted - set(chosen)):
            logger.warning(
                "Version %d of servable %s, which was requested to be served as a "
                "'specific' version in the servable's version policy, was not found "
                "in the file system",
                missing,
                model.name,
            )
        if not wanted:
            logger.warning(
                "No specific versions requested for servable %s.", model.name
            )
    else:
        count = max(policy.latest.num_versions, 1)
        chosen = sorted(by_version)[-count:]
    if not chosen:
        logger.warning(
            "No versions of servable %s found under base path %s. Did you forget to "
            "name your leaf directory as a number (eg. '/1/')?",
            model.name,
            base,
        )
    return [(v, os.path.join(base, by_version[v])) for v in chosen]


def _source_key(model) -> bytes:
    """What the file-system source sees of a model (labels excluded)."""
    copy = type(model)()
    copy.CopyFrom(model)
    copy.ClearField("version_labels")
    return copy.SerializeToString(deterministic=True)


class ModelManager:
    """Keeps every configured model's versions loaded according to its policy."""

    def __init__(self, options: ServerOptions, load_options: LoadOptions) -> None:
        self.options = options
        self.load_options = load_options
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._config = None
        self._models: dict[str, object] = {}
        self._harnesses: dict[str, dict[int, _Harness]] = {}
        self._states: dict[str, dict[int, VersionStatus]] = {}
        self._labels: dict[str, dict[str, int]] = {}
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._config_thread: threading.Thread | None = None
        self._reload_lock = threading.Lock()

    # -- state bookkeeping -------------------------------------------------

    def _set_state(
        self,
        name: str,
        harness: _Harness,
        state: str,
        error: ServingError | None = None,
    ) -> None:
        with self._changed:
            harness.state = state
            self._states.setdefault(name, {})[harness.version] = VersionStatus(
                harness.version, state, error
            )
            self._changed.notify_all()

    def model_status(self, name: str, version: int | None) -> list[VersionStatus]:
        """GetModelStatusImpl: one version, or all known versions (newest first).

        Raises:
            ServingError: NOT_FOUND when nothing is known.
        """
        with self._lock:
            states = dict(self._states.get(name, {}))
        if version is not None:
            if version not in states:
                raise ServingError(
                    Code.NOT_FOUND, f"Could not find version {version} of model {name}"
                )
            return [states[version]]
        if not states:
            raise ServingError(
                Code.NOT_FOUND, f"Could not find any versions of model {name}"
            )
        return [states[v] for v in sorted(states, reverse=True)]

    @contextlib.contextmanager
    def servable(self, name: str, version: int | None, label: str | None):
        """ServerCore::GetServableHandle: yields a loaded Servable.

        Raises:
            ServingError: INVALID_ARGUMENT / NOT_FOUND like TF Serving.
        """
        if not name:
            raise ServingError(
                Code.INVALID_ARGUMENT, "ModelSpec has no name specified."
            )
        with self._lock:
            if label:
                version = self._labels.get(name, {}).get(label)
                if version is None:
                    raise ServingError(
                        Code.INVALID_ARGUMENT,
                        f"Unrecognized servable version label: {label}",
                    )
            ready = {
                v: h.servable
                for v, h in self._harnesses.get(name, {}).items()
                if h.state == AVAILABLE and h.servable is not None
            }
            if version is None:
                chosen = ready[max(ready)] if ready else None
                request = f"Latest({name})"
            else:
                chosen = ready.get(version)
                request = f"Specific({name}, {version})"
            if chosen is None:
                raise ServingError(
                    Code.NOT_FOUND, f"Servable not found for request: {request}"
                )
            handle = chosen.handle()
            handle.__enter__()
        try:
            yield chosen
        finally:
            handle.__exit__(None, None, None)

    def labels(self, name: str) -> dict[str, int]:
        with self._lock:
            return dict(self._labels.get(name, {}))

    # -- configuration -----------------------------------------------------

    def _update_labels(self, new_config) -> None:
        """ServerCore::UpdateModelVersionLabelMap."""
        new_map: dict[str, dict[str, int]] = {}
        with self._lock:
            for model in new_config.model_config_list.config:
                states = self._states.get(model.name, {})
                for label, version in model.version_labels.items():
                    allow_unavailable = False
                    if self.options.allow_version_labels_for_unavailable_models:
                        existing = self._labels.get(model.name, {}).get(label)
                        allow_unavailable = existing is None or existing == version
                    state = states.get(version)
                    if not allow_unavailable and (
                        state is None or state.state != AVAILABLE
                    ):
                        raise ServingError(
                            Code.FAILED_PRECONDITION,
                            f"Request to assign label to version {version} of model "
                            f"{model.name}, which is not currently available for "
                            "inference",
                        )
                    new_map.setdefault(model.name, {})[label] = version
            self._labels = new_map

    def reload_config(self, new_config, first: bool = False) -> None:
        """ServerCore::ReloadConfig: validate, update labels, add/remove models,
        then wait for new models to become available.

        Raises:
            ServingError: the config is invalid or a new model failed to load.
        """
        with self._reload_lock:
            config_lib.validate_model_config_list(new_config)
            if new_config.WhichOneof("config") is None:
                logger.info("Taking no action for empty config.")
                return
            self._config = new_config
            self._update_labels(new_config)
            logger.info("Adding/updating models.")
            with self._lock:
                old = {name: _source_key(m) for name, m in self._models.items()}
                self._models = {m.name: m for m in new_config.model_config_list.config}
                for model in new_config.model_config_list.config:
                    logger.info(" (Re-)adding model: %s", model.name)
                new_models = set(self._models) - set(old)
                sources_changed = old != {
                    name: _source_key(m) for name, m in self._models.items()
                }
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="standin-manager", daemon=True
                )
                self._thread.start()
            elif sources_changed:
                # Only a change of models, base paths or policies re-polls now;
                # a label-only change must not (file_system_poll_wait_seconds=0
                # means "never look at the base path again").
                self._wake.set()
            self.wait_until_available(new_models if not first else set(self._models))
            logger.info("Finished adding/updating models")
            logger.info("Finished reloading config")

    def wait_until_available(self, names: set[str]) -> None:
        """WaitUntilModelsAvailable: the newest version of each model must reach
        AVAILABLE; reaching END first is a failure.

        Raises:
            ServingError: UNKNOWN "N model(s) did not become available: ...".
        """
        failures: list[str] = []
        with self._changed:
            for name in sorted(names):
                while not self._stop.is_set():
                    states = self._states.get(name, {})
                    if states:
                        newest = states[max(states)]
                        if newest.state == AVAILABLE:
                            break
                        if newest.state == END:
                            reason = (
                                f" due to error: {newest.error}" if newest.error else ""
                            )
                            failures.append(
                                f"{{{servable_id(name, newest.version)}{reason}}}, "
                            )
                            break
                    self._changed.wait(timeout=0.5)
        if self._stop.is_set() and not failures:
            raise ServingError(Code.CANCELLED, "Server is shutting down")
        if failures:
            raise ServingError(
                Code.UNKNOWN,
                f"{len(failures)} model(s) did not become available: "
                f"{{{''.join(failures)}}}",
            )

    def start_config_polling(self, path: str, interval_seconds: int) -> None:
        """Re-reads --model_config_file every interval (errors are only logged)."""

        def poll() -> None:
            while not self._stop.wait(interval_seconds):
                try:
                    new_config = config_lib.read_model_server_config(path)
                except ServingError as exc:
                    logger.error(
                        "Failed to read ModelServerConfig file: %s", exc.message
                    )
                    continue
                try:
                    self.reload_config(new_config)
                except ServingError as exc:
                    logger.error(
                        "PollFilesystemAndReloadConfig failed to ReloadConfig: %s",
                        exc.message,
                    )

        self._config_thread = threading.Thread(
            target=poll, name="standin-config-poll", daemon=True
        )
        self._config_thread.start()

    # -- the manager loop --------------------------------------------------

    def _run(self) -> None:
        interval = self.options.file_system_poll_wait_seconds
        while not self._stop.is_set():
            self._wake.clear()
            self._poll_file_system()
            self._apply_policy()
            if interval > 0:
                self._wake.wait(interval)
            else:
                self._wake.wait()

    def _poll_file_system(self) -> None:
        with self._lock:
            models = list(self._models.values())
        found: dict[str, list[tuple[int, str]]] = {}
        try:
            for model in models:
                found[model.name] = aspired_versions(model)
        except ServingError as exc:
            logger.error(
                "FileSystemStoragePathSource encountered a filesystem access error: %s",
                exc.message,
            )
            return
        with self._lock:
            for name in list(self._harnesses):
                if name not in found:
                    for harness in self._harnesses[name].values():
                        harness.aspired = False
            for name, versions in found.items():
                harnesses = self._harnesses.setdefault(name, {})
                wanted = dict(versions)
                for version, harness in harnesses.items():
                    harness.aspired = version in wanted
                for version, path in versions:
                    if version not in harnesses:
                        harness = _Harness(version=version, path=path)
                        harnesses[version] = harness
                        self._set_state(name, harness, START)

    def _next_action(self, harnesses: dict[int, _Harness]):
        """AvailabilityPreservingPolicy::GetNextAction."""
        aspired = [h for h in harnesses.values() if h.aspired]
        has_aspired_serving = any(h.state == AVAILABLE for h in aspired)
        unaspired_serving = [
            h for h in harnesses.values() if not h.aspired and h.state == AVAILABLE
        ]
        if (not aspired or has_aspired_serving or len(unaspired_serving) > 1) and (
            unaspired_serving
        ):
            return "unload", min(unaspired_serving, key=lambda h: h.version)
        new = [h for h in aspired if h.state == START]
        if new:
            return "load", max(new, key=lambda h: h.version)
        return None

    def _apply_policy(self) -> None:
        while not self._stop.is_set():
            action = None
            with self._lock:
                for name in sorted(self._harnesses):
                    harnesses = self._harnesses[name]
                    for version, harness in list(harnesses.items()):
                        if harness.aspired or harness.state not in (START, END):
                            continue
                        if harness.state == START:
                            self._set_state(name, harness, END)
                        del harnesses[version]
                    step = self._next_action(harnesses)
                    if step is not None:
                        action = (name, *step)
                        break
            if action is None:
                return
            name, kind, harness = action
            if kind == "load":
                self._load(name, harness)
            else:
                self._unload(name, harness)

    def _load(self, name: str, harness: _Harness) -> None:
        ident = servable_id(name, harness.version)
        logger.info("Approving load for servable version %s", ident)
        self._set_state(name, harness, LOADING)
        logger.info("Loading servable version %s", ident)
        attempts = 1 + max(self.options.max_num_load_retries, 0)
        error: ServingError | None = None
        for attempt in range(attempts):
            if attempt:
                interval = self.options.load_retry_interval_micros / 1e6
                if interval > 0 and self._stop.wait(interval):
                    break
                logger.info(
                    "Retrying of Loading servable: %s retry: %d", ident, attempt
                )
            servable = Servable(name, harness.version, harness.path, self.load_options)
            try:
                servable.load()
            except ServingError as exc:
                error = exc
                logger.error("Loading servable: %s failed: %s", ident, exc)
                continue
            with self._lock:
                harness.servable = servable
            settle_heap(collect=False)
            self._set_state(name, harness, AVAILABLE)
            logger.info("Successfully loaded servable version %s", ident)
            return
        if error is None:
            error = ServingError(Code.CANCELLED, "Loading of servable cancelled")
        logger.info("Encountered an error for servable version %s: %s", ident, error)
        self._set_state(name, harness, END, error)

    def _unload(self, name: str, harness: _Harness) -> None:
        ident = servable_id(name, harness.version)
        self._set_state(name, harness, UNLOADING)
        logger.info("Quiescing servable version %s", ident)
        servable = harness.servable
        with self._lock:
            harness.servable = None
        if servable is not None:
            servable.close()
            settle_heap(collect=True)
        logger.info("Done unloading servable version %s", ident)
        self._set_state(name, harness, END)

    def stop(self) -> None:
        """Stops polling and unloads every version."""
        self._stop.set()
        self._wake.set()
        with self._changed:
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=30)
        with self._lock:
            servables = [
                h.servable
                for hs in self._harnesses.values()
                for h in hs.values()
                if h.servable is not None
            ]
        for servable in servables:
            servable.close()
