"""CLI tests that need no server: usage errors, refused and silent targets."""

import json
import socket
import time

import pytest

from loadtest.loopback import free_port
from smoke_tests import cli
from tests.smoke_tests.helpers import write_sample_dir


@pytest.fixture
def sample_dir(tmp_path):
    return write_sample_dir(tmp_path / "base")


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--rest-url", "http://127.0.0.1:1"],
        ["--sample-dir", "SAMPLE"],
        ["--sample-dir", "SAMPLE", "--rest-url", "127.0.0.1:8501"],
        ["--sample-dir", "SAMPLE", "--release", "r", "--rest-url", "http://x:1"],
        [
            "--sample-dir",
            "SAMPLE",
            "--rest-url",
            "http://x:1",
            "--expect-label",
            "stable",
        ],
        [
            "--sample-dir",
            "SAMPLE",
            "--rest-url",
            "http://x:1",
            "--expect-versions",
            "a",
        ],
        ["--sample-dir", "SAMPLE", "--rest-url", "http://x:1", "--timeout", "0"],
        ["--sample-dir", "SAMPLE", "--rest-url", "http://x:1", "--concurrency", "500"],
        ["--sample-dir", "/does/not/exist", "--rest-url", "http://x:1"],
        ["--base-path", "/does/not/exist", "--rest-url", "http://x:1"],
    ],
)
def test_usage_and_config_errors_exit_2(argv, sample_dir, capsys):
    argv = [str(sample_dir) if a == "SAMPLE" else a for a in argv]
    assert cli.main(argv) == 2
    assert "error" in capsys.readouterr().err


def test_base_path_picks_the_newest_expected_version(tmp_path):
    base = tmp_path / "base"
    write_sample_dir(base, version=1)
    write_sample_dir(base, version=2)
    (base / "3").mkdir()  # a version without a sample
    args = cli.build_parser().parse_args(
        ["--base-path", str(base), "--rest-url", "http://x:1"]
    )
    assert cli._load_bundle(args).version == 2
    args = cli.build_parser().parse_args(
        ["--base-path", str(base), "--rest-url", "http://x:1", "--expect-versions", "1"]
    )
    assert cli._load_bundle(args).version == 1


def _checks(path):
    return {c["name"]: c for c in json.loads(path.read_text())["checks"]}


def test_refused_targets_fail_with_the_connection_hint(sample_dir, tmp_path):
    port = free_port()
    out = tmp_path / "report.json"
    code = cli.main(
        [
            "--sample-dir", str(sample_dir),
            "--rest-url", f"http://127.0.0.1:{port}",
            "--grpc-target", f"127.0.0.1:{port}",
            "--timeout", "2",
            "--json", str(out),
        ]
    )  # fmt: skip
    assert code == 1
    checks = _checks(out)
    for name in ("rest.status", "grpc.status"):
        assert checks[name]["status"] == "fail"
        assert "connection-refused" in [h["key"] for h in checks[name]["hints"]]
    assert checks["rest.predict.row"]["status"] == "skip"
    assert checks["grpc.predict"]["status"] == "skip"


def test_timeout_flag_bounds_a_target_that_never_answers(sample_dir, tmp_path):
    """A loopback socket accepts connections but never replies: every call must
    give up after --timeout, and later checks of that protocol are skipped."""
    out = tmp_path / "report.json"
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        port = silent.getsockname()[1]
        start = time.monotonic()
        code = cli.main(
            [
                "--sample-dir", str(sample_dir),
                "--rest-url", f"http://127.0.0.1:{port}",
                "--grpc-target", f"127.0.0.1:{port}",
                "--timeout", "1",
                "--json", str(out),
            ]
        )  # fmt: skip
        elapsed = time.monotonic() - start
    assert code == 1
    assert 2.0 <= elapsed < 8.0
    checks = _checks(out)
    assert "timed out" in checks["rest.status"]["detail"]
    assert "DEADLINE_EXCEEDED" in checks["grpc.status"]["detail"]
    for name in ("rest.status", "grpc.status"):
        assert "client-timeout" in [h["key"] for h in checks[name]["hints"]]
        assert checks[name]["seconds"] < 3
    assert json.loads(out.read_text())["target"]["timeout_seconds"] == 1.0


def test_wait_ready_gives_up_after_its_budget(sample_dir, tmp_path):
    port = free_port()
    out = tmp_path / "report.json"
    start = time.monotonic()
    code = cli.main(
        [
            "--sample-dir", str(sample_dir),
            "--rest-url", f"http://127.0.0.1:{port}",
            "--wait-ready", "2",
            "--timeout", "1",
            "--json", str(out),
        ]
    )  # fmt: skip
    elapsed = time.monotonic() - start
    assert code == 1
    assert 2.0 <= elapsed < 8.0
    wait = _checks(out)["ready.wait"]
    assert wait["status"] == "fail"
    assert wait["detail"].startswith("not ready after 2s")
    assert "connection-refused" in [h["key"] for h in wait["hints"]]


def test_model_version_picks_that_versions_sample(tmp_path):
    base = tmp_path / "base"
    write_sample_dir(base, version=1)
    write_sample_dir(base, version=2)
    args = cli.build_parser().parse_args(
        ["--base-path", str(base), "--rest-url", "http://x:1", "--model-version", "1"]
    )
    assert args.model_version == 1
    assert cli._load_bundle(args).version == 1
