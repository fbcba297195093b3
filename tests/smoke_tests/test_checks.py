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
        from smoke_tests.rest_client import RestReply

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
