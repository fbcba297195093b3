"""The named smoke checks and the runner that executes them in order.

Each check yields a :class:`CheckResult` (pass/fail/skip/warn plus detail; a
warning never fails the run). A transport
failure (refused, timed out) marks that protocol unreachable and later checks of
the same protocol are skipped, so a dead target costs one ``--timeout`` per
protocol rather than one per check. The clients retry once on a connection error
(see rest_client and grpc_client); a check that needed it says so in its detail.

Typical usage example:

    results = SmokeRun(config).run()
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from smoke_tests import compare, constants, hints, inputs
from smoke_tests.inputs import SampleBundle
from smoke_tests.status import (
    VersionState,
    evaluate_versions,
    failed_versions,
    grpc_version_states,
    metric_total,
    rest_version_states,
)
from tfserving_contract import layout, payloads, signature
from tfserving_contract.grpc_client import (
    ChannelCounts,
    GrpcCallError,
    GrpcClient,
    model_spec,
    retry_note,
)
from tfserving_contract.rest_client import RestClient, RestReply, TransportError

logger = logging.getLogger(__name__)

PASS, FAIL, SKIP, WARN = "pass", "fail", "skip", "warn"
_DETAIL_LIMIT = 600
_UNREACHABLE = {"UNAVAILABLE", "DEADLINE_EXCEEDED"}


@dataclass
class CheckResult:
    """Outcome of one named check. Non-gating failures do not set the exit code."""

    name: str
    status: str
    detail: str = ""
    gating: bool = True
    seconds: float = 0.0
    hints: list[hints.Hint] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """Returns True when this result should fail the run."""
        return self.status == FAIL and self.gating


class CheckFailed(Exception):
    """Raised inside a check to fail it with a message."""


class CheckSkipped(Exception):
    """Raised inside a check to skip it with a reason."""


class CheckWarning(Exception):
    """Raised inside a check to report a risk that does not fail the run."""


@dataclass
class SmokeConfig:
    """Everything a run needs; clients are None when a protocol is not targeted."""

    model: str
    bundle: SampleBundle
    rest: RestClient | None
    grpc: GrpcClient | None
    expect_versions: list[int] = field(default_factory=list)
    expect_labels: dict[str, int] = field(default_factory=dict)
    version: int | None = None
    label: str | None = None
    metrics_path: str | None = None
    rtol: float = constants.DEFAULT_RTOL
    atol: float = constants.DEFAULT_ATOL
    fail_on_version_errors: bool = False
    wait_ready: float = 0.0
    concurrency: int = 0


def _short(text: str) -> str:
    return text if len(text) <= _DETAIL_LIMIT else text[:_DETAIL_LIMIT] + "..."


def _describe(sig: signature.Signature) -> str:
    def fmt(specs: dict[str, signature.TensorSpec]) -> str:
        return ", ".join(
            f"{n}:{s.dtype}{list(s.shape or [])}" for n, s in specs.items()
        )

    return f"inputs {fmt(sig.inputs)} -> outputs {fmt(sig.outputs)}"


class SmokeRun:
    """Runs every check against the configured targets."""

    def __init__(self, config: SmokeConfig) -> None:
        """Prepares a run; nothing is sent until :meth:`run`."""
        self.config = config
        self.results: list[CheckResult] = []
        self.down: dict[str, str] = {}
        self.states: list[VersionState] | None = None
        self.served: signature.Signature | None = None
        self.sample: payloads.SampleTensors | None = None
        self.rest_outputs: dict[str, Any] | None = None
        self.grpc_outputs: dict[str, Any] | None = None
        self.export_signature = signature.from_export_metadata(config.bundle.metadata)
        self._down_before_probes: set[str] = set()

    # -- plumbing -----------------------------------------------------------

    def _record(
        self,
        name: str,
        protocol: str | None,
        body: Callable[[], str],
        gating: bool = True,
    ) -> CheckResult:
        client = {"rest": self.config.rest, "grpc": self.config.grpc}.get(
            protocol or "", True
        )
        start = time.monotonic()
        rest_retries, grpc_counts = self._retries(), self._grpc_counts()
        if client is None:
            result = CheckResult(name, SKIP, f"no {protocol} target given")
        elif protocol in self.down:
            result = CheckResult(
                name, SKIP, f"{protocol} unreachable (see {self.down[protocol]})"
            )
        else:
            try:
                result = CheckResult(name, PASS, body(), gating)
            except CheckSkipped as skip:
                result = CheckResult(name, SKIP, str(skip))
            except CheckWarning as warning:
                result = CheckResult(name, WARN, _short(str(warning)), gating=False)
            except CheckFailed as err:
                result = CheckResult(name, FAIL, _short(str(err)), gating)
            except TransportError as err:
                self.down.setdefault("rest", name)
                result = CheckResult(name, FAIL, _short(str(err)), gating)
            except GrpcCallError as err:
                if err.code in _UNREACHABLE:
                    self.down.setdefault("grpc", name)
                result = CheckResult(name, FAIL, _short(str(err)), gating)
            except (payloads.PayloadError, signature.SignatureError, ValueError) as err:
                result = CheckResult(name, FAIL, _short(f"{type(err).__name__}: {err}"))
            except Exception as err:  # one broken check must not hide the others
                logger.debug("check %s raised", name, exc_info=True)
                result = CheckResult(
                    name, FAIL, _short(f"unexpected {type(err).__name__}: {err}")
                )
        result.seconds = time.monotonic() - start
        retried = self._retries() - rest_retries
        if retried:
            plural = "retry" if retried == 1 else "retries"
            result.detail += f" (after {retried} {plural} on connection error)"
        result.detail += retry_note(grpc_counts, self._grpc_counts())
        if result.status in (FAIL, WARN):
            result.hints = hints.find(result.detail)
        logger.info("%s: %s %s", name, result.status, result.detail)
        self.results.append(result)
        return result

    def _retries(self) -> int:
        """REST requests repeated so far after a connection error."""
        return getattr(self.config.rest, "retries", 0)

    def _grpc_counts(self) -> ChannelCounts | None:
        """The gRPC channel's counters, to see what gRPC retried unasked."""
        grpc = self.config.grpc
        return grpc.counts() if grpc is not None and hasattr(grpc, "counts") else None

    @staticmethod
    def _expect_ok(reply: RestReply, what: str) -> Any:
        if reply.status != 200:
            raise CheckFailed(f"{what}: HTTP {reply.status}: {reply.error_text()}")
        return reply.body

    def _target(self) -> dict[str, Any]:
        return {"version": self.config.version, "label": self.config.label}

    # -- checks ----------------------------------------------------------------

    def run(self) -> list[CheckResult]:
        """Runs all checks in order and returns their results."""
        cfg = self.config
        self._record("export.versions", None, self._export_versions)
        if cfg.wait_ready > 0:
            self._record("ready.wait", None, self._wait_ready)
        self._record("rest.status", "rest", self._rest_status)
        self._record("grpc.status", "grpc", self._grpc_status)
        self._record(
            "versions.failed", None, self._failed_versions, cfg.fail_on_version_errors
        )
        self._record("rest.metadata", "rest", self._rest_metadata)
        self._record("grpc.metadata", "grpc", self._grpc_metadata)
        if cfg.expect_labels:
            self._record("rest.labels", "rest", self._rest_labels)
            self._record("grpc.labels", "grpc", self._grpc_labels)
        self._record("sample.request", None, self._build_sample)
        self._record("rest.predict.row", "rest", self._rest_predict_row)
        self._record("rest.predict.columnar", "rest", self._rest_predict_columnar)
        self._record("rest.predict.batch1", "rest", self._rest_predict_batch1)
        self._record("grpc.predict", "grpc", self._grpc_predict)
        self._record("parity.rest_grpc", None, self._parity)
        self._record("rest.concurrent", "rest", self._rest_concurrent)
        served = any(
            r.status == PASS for r in self.results if r.name.endswith(".status")
        )
        self._down_before_probes = set(self.down)
        for name, protocol, check in (
            ("rest.error.unknown_model", "rest", self._rest_unknown_model),
            ("grpc.error.unknown_model", "grpc", self._grpc_unknown_model),
            ("rest.error.wrong_shape", "rest", self._rest_wrong_shape),
            ("grpc.error.wrong_shape", "grpc", self._grpc_wrong_shape),
        ):
            self._record(name, protocol, check if served else self._not_served)
        if served:
            self._record("ready.after_errors", None, self._still_ready)
        self._record("rest.metrics", "rest", self._metrics)
        return self.results

    def _still_ready(self) -> str:
        """The error probes must not have hurt the server."""
        for protocol in set(self.down) - self._down_before_probes:
            raise CheckFailed(
                f"{protocol} stopped answering (see {self.down[protocol]})"
            )
        ok, detail = evaluate_versions(self._poll_states(), self.config.expect_versions)
        if not ok:
            raise CheckFailed(f"after the error probes: {detail}")
        return f"still serving after the error probes: {detail}"

    def _poll_states(self) -> list[VersionState]:
        if self.config.rest is not None and "rest" not in self.down:
            rest = self.config.rest
            reply = rest.get(rest.model_path(self.config.model))
            return rest_version_states(self._expect_ok(reply, "model status"))
        if self.config.grpc is not None and "grpc" not in self.down:
            response = self.config.grpc.get_model_status(self.config.model)
            return grpc_version_states(response)
        raise CheckSkipped("no reachable protocol to read the model status")

    def _wait_ready(self) -> str:
        """Polls model status until the expected versions are AVAILABLE."""
        start = time.monotonic()
        deadline = start + self.config.wait_ready
        last = "no answer yet"
        while True:
            try:
                ok, last = evaluate_versions(
                    self._poll_states(), self.config.expect_versions
                )
                if ok:
                    return f"ready after {time.monotonic() - start:.1f}s: {last}"
            except (TransportError, GrpcCallError, CheckFailed) as err:
                last = str(err)
            if time.monotonic() >= deadline:
                raise CheckFailed(
                    f"not ready after {self.config.wait_ready:g}s; last: {last}"
                )
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))

    def _check_states(self, states: list[VersionState]) -> str:
        self.states = self.states or states
        ok, detail = evaluate_versions(states, self.config.expect_versions)
        if not ok:
            raise CheckFailed(detail)
        return detail

    def _rest_status(self) -> str:
        rest = self.config.rest
        reply = rest.get(rest.model_path(self.config.model))
        body = self._expect_ok(reply, f"GET {rest.model_path(self.config.model)}")
        return self._check_states(rest_version_states(body))

    def _grpc_status(self) -> str:
        response = self.config.grpc.get_model_status(self.config.model)
        return self._check_states(grpc_version_states(response))

    def _failed_versions(self) -> str:
        if self.states is None:
            raise CheckSkipped("no model status was read")
        broken = failed_versions(self.states)
        if broken:
            raise CheckFailed(
                "; ".join(f"v{s.version} {s.error_code}: {s.message}" for s in broken)
            )
        return "no version ended with an error"

    def _compare_signature(self, served: signature.Signature) -> str:
        self.served = self.served or served
        if self.export_signature is None:
            return _describe(served) + " (export metadata has no signature)"
        problems = signature.compare(served, self.export_signature)
        if problems:
            raise CheckFailed("; ".join(problems))
        return _describe(served)

    def _rest_metadata(self) -> str:
        rest = self.config.rest
        path = rest.model_path(self.config.model, **self._target()) + "/metadata"
        body = self._expect_ok(rest.get(path), f"GET {path}")
        served = signature.from_rest_metadata(body, self.config.bundle.signature_name)
        return self._compare_signature(served)

    def _grpc_metadata(self) -> str:
        from tfserving_contract import protos

        response = self.config.grpc.get_model_metadata(
            self.config.model, **self._target()
        )
        if "signature_def" not in response.metadata:
            raise CheckFailed("GetModelMetadata returned no signature_def")
        sig_map = protos.message("tensorflow.serving.SignatureDefMap")()
        response.metadata["signature_def"].Unpack(sig_map)
        served = signature.from_signature_def_map(
            sig_map, self.config.bundle.signature_name
        )
        return self._compare_signature(served)

    def _label_versions(self, resolve: Callable[[str], int]) -> str:
        wrong = []
        for label, want in sorted(self.config.expect_labels.items()):
            got = resolve(label)
            if got != want:
                wrong.append(f"{label} -> v{got}, expected v{want}")
        if wrong:
            raise CheckFailed("; ".join(wrong))
        return ", ".join(
            f"{k}=v{v}" for k, v in sorted(self.config.expect_labels.items())
        )

    def _rest_labels(self) -> str:
        rest = self.config.rest

        def resolve(label: str) -> int:
            path = rest.model_path(self.config.model, label=label) + "/metadata"
            body = self._expect_ok(rest.get(path), f"GET {path}")
            return int(body.get("model_spec", {}).get("version", -1))

        return self._label_versions(resolve)

    def _grpc_labels(self) -> str:
        def resolve(label: str) -> int:
            response = self.config.grpc.get_model_metadata(
                self.config.model, label=label
            )
            return int(response.model_spec.version.value)

        return self._label_versions(resolve)

    def _build_sample(self) -> str:
        served = self.served or self.export_signature
        self.sample = payloads.sample_tensors(self.config.bundle.sample, served)
        notes = [t.note for t in self.sample.tensors.values() if t.note]
        described = ", ".join(
            f"{t.name}:{t.dtype}{list(t.values.shape)}"
            + (" (b64)" if t.dtype == "DT_STRING" else "")
            for t in self.sample.tensors.values()
        )
        source = "served signature" if self.served else "export metadata"
        if self.served is None and self.export_signature is None:
            source = "sample only"
        detail = f"{described} typed from {source}"
        return detail + ("; " + "; ".join(notes) if notes else "")

    def _output_names(self) -> list[str]:
        sig = self.served or self.export_signature
        return sorted(sig.outputs) if sig else []

    def _golden(self) -> dict[str, Any] | None:
        if not self.config.bundle.golden:
            return None
        return payloads.parse_predictions(
            self.config.bundle.golden, self._output_names()
        )

    def _verify(
        self, outputs: dict[str, Any], what: str, rows: int | None = None
    ) -> str:
        names = self._output_names()
        if names and not set(outputs) <= set(names):
            raise CheckFailed(
                f"{what}: outputs {sorted(outputs)} not in signature {names}"
            )
        sig = self.served or self.export_signature
        if sig is not None:
            wrong = [
                f"{k}{list(np.shape(v))} vs signature {list(sig.outputs[k].shape)}"
                for k, v in sorted(outputs.items())
                if k in sig.outputs
                and not signature.shape_accepts(sig.outputs[k].shape, np.shape(v))
            ]
            if wrong:
                raise CheckFailed(f"{what}: output shapes " + "; ".join(wrong))
        golden = self._golden()
        if golden is not None and rows is not None:
            golden = {k: np.asarray(v)[:rows] for k, v in golden.items()}
        shapes = ", ".join(
            f"{k}{list(np.shape(v))}" for k, v in sorted(outputs.items())
        )
        if golden is None:
            return f"{shapes}; no golden_outputs.json to compare"
        problems = compare.outputs(outputs, golden, self.config.rtol, self.config.atol)
        if problems:
            raise CheckFailed(
                f"{what} differs from golden outputs: " + "; ".join(problems)
            )
        diff = compare.max_abs_diff(outputs, golden)
        suffix = f", max |diff| {diff:.2g}" if diff is not None else ""
        tol = f"rtol={self.config.rtol:g}, atol={self.config.atol:g}"
        return f"{shapes} match golden ({tol}{suffix})"

    def _need_sample(self) -> payloads.SampleTensors:
        if self.sample is None:
            raise CheckSkipped("no request could be built (see sample.request)")
        return self.sample

    def _notes(self) -> str:
        notes = [
            t.note
            for t in (self.sample.tensors.values() if self.sample else [])
            if t.note
        ]
        return (" [" + "; ".join(notes) + "]") if notes else ""

    def _rest_predict(
        self, body: dict[str, Any], parse: Callable[..., Any], what: str
    ) -> dict[str, Any]:
        rest = self.config.rest
        path = rest.model_path(self.config.model, **self._target()) + ":predict"
        reply = rest.post(path, body)
        if reply.status != 200:
            raise CheckFailed(
                f"POST {path}: HTTP {reply.status}: {reply.error_text()}{self._notes()}"
            )
        return parse(reply.body, self._output_names())

    def _rest_predict_row(self) -> str:
        sample = self._need_sample()
        body = payloads.row_body(sample, self.config.bundle.signature_name)
        outputs = self._rest_predict(body, payloads.parse_predictions, "REST row")
        self.rest_outputs = outputs
        return self._verify(outputs, "REST row predictions")

    def _rest_predict_batch1(self) -> str:
        sample = payloads.first_rows(self._need_sample())
        body = payloads.row_body(sample, self.config.bundle.signature_name)
        outputs = self._rest_predict(body, payloads.parse_predictions, "REST batch 1")
        return self._verify(outputs, "REST batch-of-1 predictions", rows=1)

    def _rest_concurrent(self) -> str:
        """Sends the row request N times in parallel: all 200, identical answers."""
        count = self.config.concurrency
        if count <= 0:
            raise CheckSkipped("--concurrency 0")
        rest = self.config.rest
        body = payloads.row_body(self._need_sample(), self.config.bundle.signature_name)
        path = rest.model_path(self.config.model, **self._target()) + ":predict"

        def send(_index: int) -> RestReply:
            client = RestClient(rest.base_url, rest.timeout)
            try:
                return client.post(path, body)
            finally:
                client.close()

        start = time.monotonic()
        with ThreadPoolExecutor(max_workers=count) as pool:
            replies = list(pool.map(send, range(count)))
        elapsed = time.monotonic() - start
        rest.retries += sum(r.retries for r in replies)  # reported by _record
        failed = [r for r in replies if r.status != 200]
        if failed:
            raise CheckFailed(
                f"{len(failed)}/{count} parallel requests failed; first: HTTP "
                f"{failed[0].status}: {failed[0].error_text()}"
            )
        names = self._output_names()
        answers = [payloads.parse_predictions(r.body, names) for r in replies]
        differ = sum(bool(compare.outputs(a, answers[0], 0.0, 0.0)) for a in answers)
        if differ:
            raise CheckFailed(
                f"{differ}/{count} parallel answers differ from the first"
            )
        detail = self._verify(answers[0], "parallel predictions")
        return f"{count} parallel requests in {elapsed:.2f}s, identical; {detail}"

    def _rest_predict_columnar(self) -> str:
        sample = self._need_sample()
        body = payloads.columnar_body(sample, self.config.bundle.signature_name)
        outputs = self._rest_predict(body, payloads.parse_outputs, "REST columnar")
        return self._verify(outputs, "REST columnar outputs")

    def _predict_request(
        self, tensors: list[payloads.InputTensor], model: str | None = None
    ) -> Any:
        from tfserving_contract import protos
        from tfserving_contract import tensors as tensor_protos

        request = protos.message("tensorflow.serving.PredictRequest")()
        model_spec(
            request.model_spec,
            model or self.config.model,
            signature_name=self.config.bundle.signature_name,
            **(self._target() if model is None else {}),
        )
        for item in tensors:
            request.inputs[item.name].CopyFrom(
                tensor_protos.to_proto(item.values, item.dtype)
            )
        return request

    def _grpc_predict(self) -> str:
        from tfserving_contract import tensors as tensor_protos

        sample = self._need_sample()
        request = self._predict_request(list(sample.tensors.values()))
        try:
            response = self.config.grpc.predict(request)
        except GrpcCallError as err:
            if err.code in _UNREACHABLE:
                raise
            raise CheckFailed(f"{err}{self._notes()}") from err
        outputs = {k: tensor_protos.from_proto(v) for k, v in response.outputs.items()}
        self.grpc_outputs = outputs
        detail = self._verify(outputs, "gRPC outputs")
        served_version = int(response.model_spec.version.value)
        want = self.config.expect_labels.get(
            self.config.label or "", self.config.version
        )
        if want is not None and served_version != want:
            raise CheckFailed(f"answered by v{served_version}, expected v{want}")
        return f"v{served_version}: {detail}"

    def _parity(self) -> str:
        if self.rest_outputs is None or self.grpc_outputs is None:
            raise CheckSkipped("needs both REST row and gRPC predictions")
        problems = compare.outputs(
            self.grpc_outputs,
            self.rest_outputs,
            constants.PARITY_RTOL,
            constants.PARITY_ATOL,
        )
        if problems:
            raise CheckFailed("REST and gRPC disagree: " + "; ".join(problems))
        diff = compare.max_abs_diff(self.grpc_outputs, self.rest_outputs)
        return f"REST and gRPC agree (max |diff| {diff or 0:.2g})"

    def _not_served(self) -> str:
        """Skips an error probe, saying why the status checks failed."""
        if self.states and any(s.state == "AVAILABLE" for s in self.states):
            _, detail = evaluate_versions(self.states, self.config.expect_versions)
            raise CheckSkipped(f"{detail} (see *.status): error paths skipped")
        raise CheckSkipped(
            "the model is not served (see *.status): error paths skipped"
        )

    def _export_versions(self) -> str:
        """Every version's export_metadata.json must name its own directory.

        A version directory made with a plain copy (``cp -r 1 2``) still says
        version 1, and its golden outputs describe version 1; a copy is also not
        atomic, so the server may have caught it half-written (see README).
        """
        version_dir = self.config.bundle.directory.parent
        if layout.parse_version(version_dir.name) is None:
            raise CheckSkipped(
                f"{self.config.bundle.directory} is not inside a version directory"
            )
        base = version_dir.parent
        copies, checked = [], []
        for version, directory in inputs.version_dirs(base).items():
            path = layout.assets_extra(directory) / layout.EXPORT_METADATA_FILE
            try:
                named = json.loads(path.read_text(encoding="utf-8")).get("version")
            except (OSError, ValueError, AttributeError):
                continue
            if named is None:
                continue
            checked.append(version)
            if str(named).strip() != str(version):
                copies.append(f"{path} names version {named}")
        if copies:
            raise CheckWarning(
                "; ".join(copies)
                + ": a plain copy of another version (cp -r)? its golden outputs "
                "describe that version, and a copy is not atomic"
            )
        if not checked:
            raise CheckSkipped(f"no export_metadata.json under {base} names a version")
        return f"versions {checked} under {base} each name their own directory"

    def _missing_model(self) -> str:
        return f"{self.config.model}-smoke-missing"

    def _rest_unknown_model(self) -> str:
        rest = self.config.rest
        path = rest.model_path(self._missing_model()) + ":predict"
        body: dict[str, Any] = {"instances": [[0.0]]}
        if self.sample is not None:
            body = payloads.row_body(
                payloads.first_rows(self.sample), self.config.bundle.signature_name
            )
        reply = rest.post(path, body)
        if (
            reply.status != 404
            or not isinstance(reply.body, dict)
            or "error" not in reply.body
        ):
            raise CheckFailed(
                "expected HTTP 404 with an 'error' body, got "
                f"{reply.status}: {reply.text[:200]}"
            )
        return f"404: {reply.error_text()}"

    def _grpc_expect_error(self, request: Any, code: str) -> str:
        try:
            self.config.grpc.predict(request)
        except GrpcCallError as err:
            if err.code in _UNREACHABLE and code not in _UNREACHABLE:
                raise
            if err.code != code:
                raise CheckFailed(f"expected {code}, got {err}") from err
            return f"{err.code}: {err.details[:200]}"
        raise CheckFailed(f"expected {code}, but the call succeeded")

    def _grpc_unknown_model(self) -> str:
        sample = payloads.first_rows(self.sample) if self.sample else None
        tensors = list(sample.tensors.values()) if sample else []
        request = self._predict_request(tensors, model=self._missing_model())
        return self._grpc_expect_error(request, "NOT_FOUND")

    def _rest_wrong_shape(self) -> str:
        rest = self.config.rest
        body = payloads.ragged_row_body(
            self._need_sample(), self.config.bundle.signature_name
        )
        path = rest.model_path(self.config.model, **self._target()) + ":predict"
        reply = rest.post(path, body)
        if (
            reply.status != 400
            or not isinstance(reply.body, dict)
            or "error" not in reply.body
        ):
            raise CheckFailed(
                "instances of different shapes: expected HTTP 400 with an 'error' "
                f"body, got {reply.status}: {reply.text[:200]}"
            )
        return f"400 for instances of different shapes: {reply.error_text()[:200]}"

    def _grpc_wrong_shape(self) -> str:
        from tfserving_contract import tensors as tensor_protos

        sample = payloads.first_rows(self._need_sample())
        request = self._predict_request(list(sample.tensors.values()))
        first = next(iter(sample.tensors.values()))
        proto, what = tensor_protos.malformed_proto(first.values, first.dtype)
        request.inputs[first.name].CopyFrom(proto)
        detail = self._grpc_expect_error(request, "INVALID_ARGUMENT")
        return f"{what}: {detail}"

    def _metrics(self) -> str:
        path = self.config.metrics_path
        if not path:
            raise CheckSkipped("no --metrics-path given")
        reply = self.config.rest.get(path)
        if reply.status == 404:
            raise CheckFailed(
                f"GET {path}: HTTP 404: no metrics page at this path. TF Serving "
                "serves one only when started with --monitoring_config_file naming "
                f'prometheus_config {{ enable: true, path: "{path}" }}; with this '
                "chart set metrics.enabled=true (and metrics.path)"
            )
        if reply.status != 200:
            raise CheckFailed(f"GET {path}: HTTP {reply.status}: {reply.text[:200]}")
        if constants.METRIC_REQUEST_COUNT not in reply.text:
            raise CheckFailed(
                f"GET {path}: no {constants.METRIC_REQUEST_COUNT} series "
                "(is monitoring enabled?)"
            )
        total = metric_total(
            reply.text, constants.METRIC_REQUEST_COUNT, self.config.model
        )
        return f"{constants.METRIC_REQUEST_COUNT} for {self.config.model}: {total:g}"
