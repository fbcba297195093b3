"""Unit tests for kubectl port-forward output parsing and process handling."""

import os
import stat

import pytest

from smoke_tests import portforward

KUBECTL_OUTPUT = """\
Forwarding from 127.0.0.1:40123 -> 8501
Forwarding from [::1]:40123 -> 8501
Forwarding from 127.0.0.1:40999 -> 8500
Forwarding from [::1]:40999 -> 8500
Handling connection for 40123
"""


def test_forwarding_lines_collapse_ipv4_and_ipv6_per_port():
    pairs = portforward.parse_forwarding(KUBECTL_OUTPUT.splitlines())
    assert pairs == [(40123, 8501), (40999, 8500)]


def test_ports_are_assigned_in_the_order_they_were_requested():
    pairs = portforward.parse_forwarding(KUBECTL_OUTPUT.splitlines())
    assert portforward.assign_ports(["http", "grpc"], pairs) == {
        "http": 40123,
        "grpc": 40999,
    }


def test_missing_forwarding_lines_are_an_error():
    with pytest.raises(portforward.PortForwardError):
        portforward.assign_ports(["http", "grpc"], [(1, 2)])


def test_unrelated_lines_are_ignored():
    lines = ["error: unable to forward port", "Forwarding from 127.0.0.1:x -> 1"]
    assert portforward.parse_forwarding(lines) == []


def test_command_asks_for_random_local_ports_on_loopback():
    argv = portforward.build_command("svc/tfs", ["http", "grpc"], "ml", "kind-x")
    assert argv[:5] == ["kubectl", "port-forward", "svc/tfs", "0:http", "0:grpc"]
    assert argv[argv.index("--address") + 1] == "127.0.0.1"
    assert argv[argv.index("--namespace") + 1] == "ml"
    assert argv[argv.index("--context") + 1] == "kind-x"


def _fake_kubectl(tmp_path, monkeypatch, body: str):
    script = tmp_path / "kubectl"
    script.write_text("#!/usr/bin/env bash\n" + body)
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    return tmp_path / "pid"


def test_context_manager_reads_ports_and_stops_kubectl(tmp_path, monkeypatch):
    pid_file = _fake_kubectl(
        tmp_path,
        monkeypatch,
        f"echo $$ > {tmp_path}/pid\n"
        'echo "Forwarding from 127.0.0.1:41001 -> 8501"\n'
        'echo "Forwarding from 127.0.0.1:41002 -> 8500"\n'
        "exec sleep 60\n",
    )
    with portforward.PortForward("svc/tfs", ["http", "grpc"], ready_timeout=10) as pf:
        assert pf.local_ports == {"http": 41001, "grpc": 41002}
        pid = int(pid_file.read_text())
        os.kill(pid, 0)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_kubectl_exiting_early_reports_its_output(tmp_path, monkeypatch):
    _fake_kubectl(
        tmp_path, monkeypatch, 'echo "error: services \\"x\\" not found"\nexit 1\n'
    )
    with pytest.raises(portforward.PortForwardError, match="not found"):
        portforward.PortForward("svc/x", ["http"], ready_timeout=10).start()


def test_kubectl_that_never_forwards_times_out(tmp_path, monkeypatch):
    _fake_kubectl(tmp_path, monkeypatch, "exec sleep 60\n")
    with pytest.raises(portforward.PortForwardError, match="no forwarding lines"):
        portforward.PortForward("svc/x", ["http"], ready_timeout=0.5).start()
