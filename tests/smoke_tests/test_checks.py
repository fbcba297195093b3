"""Unit tests for version status, metrics parsing and the check runner."""

import pytest

from smoke_tests import checks, status

STATUS_BODY = {
    "model_version_status": [
        {
            "version": "3",
            "state": "END",
            "status": {"error_code": "UNKNOWN", "error_message": "warmup failed"},
        },
        {
            "version": "2",
            "state": "AVAILABLE",
            "status": {"error_code": "OK", "error_message": ""},
        },
    ]
}


def test_rest_status_body_is_parsed_and_sorted():
    states = status.rest_version_states(STATUS_BODY)
    assert [(s.version, s.state, s.error_code) for s in states] == [
        (2, "AVAILABLE", "OK"),
        (3, "END", "UNKNOWN"),
    ]


@pytest.mark.parametrize(
    ("expected", "ok"),
    [([], True), ([2], True), ([2, 3], False), ([1], False)],
)
def test_expected_versions_must_be_available(expected, ok):
    states = status.rest_version_states(STATUS_BODY)
    assert status.evaluate_versions(states, expected)[0] is ok


def test_no_available_version_fails_without_expectations():
    states = [status.VersionState(1, "LOADING", "OK", "")]
    ok, detail = status.evaluate_versions(states, [])
    assert not ok and "v1:LOADING" in detail


def test_a_version_that_ended_with_an_error_is_reported():
    broken = status.failed_versions(status.rest_version_states(STATUS_BODY))
    assert [(s.version, s.message) for s in broken] == [(3, "warmup failed")]


def test_an_unloaded_version_without_error_is_not_a_failure():
    states = [status.VersionState(1, "END", "OK", "")]
    assert status.failed_versions(states) == []


def test_metric_total_sums_one_models_series():
    text = "\n".join(
        [
            "# TYPE :tensorflow:serving:request_count counter",
            ':tensorflow:serving:request_count{model_name="m",status="OK"} 3',
            ':tensorflow:serving:request_count{model_name="m",status="BAD"} 2',
            ':tensorflow:serving:request_count{model_name="other",status="OK"} 7',
        ]
    )
    assert status.metric_total(text, ":tensorflow:serving:request_count", "m") == 5


class _FlakyRest:
    """A REST client whose status works and whose metadata call has a bug."""

    timeout = 1.0

    @staticmethod
    def model_path(model, version=None, label=None):
        return f"/v1/models/{model}"

    def get(self, path):
        from tfserving_contract.rest_client import RestReply

        if path.endswith("/metadata"):
            raise KeyError("boom")
        body = {
            "model_version_status": [
                {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK"}}
            ]
        }
        return RestReply(200, body, "")


def test_an_unexpected_error_fails_one_check_and_the_run_goes_on(tmp_path):
    from smoke_tests import inputs
    from tests.smoke_tests.helpers import write_sample_dir

    bundle = inputs.load(write_sample_dir(tmp_path / "base"))
    config = checks.SmokeConfig(
        model="tiny", bundle=bundle, rest=_FlakyRest(), grpc=None
    )
    results = {r.name: r for r in checks.SmokeRun(config).run()}
    assert results["rest.status"].status == "pass"
    assert results["rest.metadata"].status == "fail"
    assert "unexpected KeyError" in results["rest.metadata"].detail
    assert results["sample.request"].status == "pass"
    assert results["grpc.predict"].status == "skip"


def test_a_model_served_at_other_versions_names_them():
    states = [status.VersionState(4, "AVAILABLE", "OK", "")]
    ok, detail = status.evaluate_versions(states, [1])
    assert not ok
    assert detail == "expected versions [1], server serves [4] (v4:AVAILABLE)"


def test_a_partly_served_expectation_names_the_missing_versions():
    states = status.rest_version_states(STATUS_BODY)
    ok, detail = status.evaluate_versions(states, [2, 3])
    assert not ok
    assert detail.startswith("expected versions [2, 3], server serves [2]: [3] missing")


def test_no_available_version_says_the_server_serves_none():
    states = [status.VersionState(1, "LOADING", "OK", "")]
    _, detail = status.evaluate_versions(states, [1])
    assert detail == "expected versions [1], server serves none (v1:LOADING)"


class _Rest:
    """A REST client double: model status at given versions, metrics by status."""

    timeout = 1.0
    retries = 0

    def __init__(self, versions=(1,), metrics_status=200):
        self.versions = versions
        self.metrics_status = metrics_status

    @staticmethod
    def model_path(model, version=None, label=None):
        return f"/v1/models/{model}"

    def get(self, path):
        from tfserving_contract.rest_client import RestReply

        if path.startswith("/monitoring"):
            if self.metrics_status == 404:
                return RestReply(404, None, "<HTML><TITLE>404 Not Found</TITLE>")
            text = ':tensorflow:serving:request_count{model_name="tiny"} 1\n'
            return RestReply(200, None, text)
        if path.endswith("/metadata"):
            return RestReply(404, {"error": "no metadata in this double"}, "")
        body = {
            "model_version_status": [
                {"version": str(v), "state": "AVAILABLE", "status": {}}
                for v in self.versions
            ]
        }
        return RestReply(200, body, "")

    def post(self, path, body):
        from tfserving_contract.rest_client import RestReply

        return RestReply(404, {"error": "not in this double"}, "")


def _run(tmp_path, rest, **config):
    from smoke_tests import inputs
    from tests.smoke_tests.helpers import write_sample_dir

    bundle = inputs.load(write_sample_dir(tmp_path / "base"))
    run_config = checks.SmokeConfig(
        model="tiny", bundle=bundle, rest=rest, grpc=None, **config
    )
    return {r.name: r for r in checks.SmokeRun(run_config).run()}


def test_other_served_versions_are_named_instead_of_not_served(tmp_path):
    results = _run(tmp_path, _Rest(versions=(4,)), expect_versions=[1])
    status_check = results["rest.status"]
    assert status_check.status == "fail"
    assert "expected versions [1], server serves [4]" in status_check.detail
    assert [h.key for h in status_check.hints] == ["version-mismatch"]
    probe = results["rest.error.unknown_model"]
    assert probe.status == "skip"
    assert probe.detail.startswith("expected versions [1], server serves [4]")
    assert "not served" not in probe.detail


def test_an_unserved_model_still_says_so(tmp_path):
    class Unserved(_Rest):
        def get(self, path):
            from tfserving_contract.rest_client import RestReply

            error = {"error": "Servable not found for request: Latest(tiny)"}
            return RestReply(404, error, "")

    results = _run(tmp_path, Unserved(), expect_versions=[1])
    assert results["rest.error.unknown_model"].detail.startswith(
        "the model is not served"
    )


def test_a_metrics_404_names_the_monitoring_flag_and_chart_value(tmp_path):
    path = "/monitoring/prometheus/metrics"
    results = _run(tmp_path, _Rest(metrics_status=404), metrics_path=path)
    detail = results["rest.metrics"].detail
    assert results["rest.metrics"].status == "fail"
    assert "HTTP 404" in detail
    assert "--monitoring_config_file" in detail
    assert "metrics.enabled" in detail
    assert f'path: "{path}"' in detail


def test_metrics_with_monitoring_on_pass(tmp_path):
    path = "/monitoring/prometheus/metrics"
    results = _run(tmp_path, _Rest(), metrics_path=path)
    assert results["rest.metrics"].status == "pass"


def test_a_version_copied_from_another_is_a_warning_not_a_failure(tmp_path):
    """A plain `cp -r 1 2` leaves export_metadata.json saying version 1."""
    import shutil

    from smoke_tests import inputs
    from tests.smoke_tests.helpers import write_sample_dir

    base = tmp_path / "base"
    write_sample_dir(base)
    shutil.copytree(base / "1", base / "2")
    bundle = inputs.load(inputs.sample_dir_from_base(base))
    config = checks.SmokeConfig(
        model="tiny", bundle=bundle, rest=_Rest(versions=(1, 2)), grpc=None
    )
    results = {r.name: r for r in checks.SmokeRun(config).run()}
    warning = results["export.versions"]
    assert warning.status == "warn" and not warning.failed
    assert "2/assets.extra/export_metadata.json names version 1" in warning.detail
    assert "plain copy" in warning.detail
    assert [h.key for h in warning.hints] == ["copied-version"]


def test_versions_that_name_their_own_directory_pass(tmp_path):
    results = _run(tmp_path, _Rest())
    assert results["export.versions"].status == "pass"
    assert "versions [1]" in results["export.versions"].detail
