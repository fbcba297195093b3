"""Run ``kubectl port-forward`` for a Service and learn the local ports it chose.

``kubectl port-forward svc/NAME 0:http 0:grpc --address 127.0.0.1`` prints one
``Forwarding from 127.0.0.1:LOCAL -> REMOTE`` line per port, in the order the
ports were given. The process runs in its own session and is terminated when the
context exits, including on errors and SIGTERM (converted to SystemExit by the CLI).

Typical usage example:

    with PortForward("svc/tf-serving", ["http", "grpc"], namespace="ml") as pf:
        rest_port = pf.local_ports["http"]
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from types import TracebackType

from smoke_tests import constants

logger = logging.getLogger(__name__)

_FORWARD_LINE = re.compile(
    r"^Forwarding from (?P<address>\[[^\]]+\]|[^\s:]+):(?P<local>\d+)"
    r" -> (?P<remote>\d+)"
)


class PortForwardError(RuntimeError):
    """kubectl port-forward failed to start or exited."""


def parse_forwarding(lines: list[str]) -> list[tuple[int, int]]:
    """Returns (local, remote) pairs in first-seen order, one per remote port.

    IPv4 and IPv6 lines for the same port collapse into one pair.
    """
    pairs: list[tuple[int, int]] = []
    seen: set[int] = set()
    for line in lines:
        match = _FORWARD_LINE.match(line.strip())
        if not match:
            continue
        remote = int(match["remote"])
        if remote in seen:
            continue
        seen.add(remote)
        pairs.append((int(match["local"]), remote))
    return pairs


def assign_ports(ports: list[str], pairs: list[tuple[int, int]]) -> dict[str, int]:
    """Maps each requested port (name or number) to its local port, by order.

    Raises:
        PortForwardError: fewer forwarding lines than requested ports.
    """
    if len(pairs) < len(ports):
        raise PortForwardError(f"kubectl forwarded {pairs}, wanted ports {ports}")
    return {port: local for port, (local, _remote) in zip(ports, pairs, strict=False)}


def build_command(
    resource: str,
    ports: list[str],
    namespace: str | None,
    context: str | None,
    kubectl: str = "kubectl",
) -> list[str]:
    """Returns the kubectl argv forwarding random local ports to ``ports``."""
    argv = [kubectl, "port-forward", resource, *[f"0:{p}" for p in ports]]
    argv += ["--address", "127.0.0.1"]
    if namespace:
        argv += ["--namespace", namespace]
    if context:
        argv += ["--context", context]
    return argv


class PortForward:
    """Context manager owning one ``kubectl port-forward`` process."""

    def __init__(
        self,
        resource: str,
        ports: list[str],
        namespace: str | None = None,
        context: str | None = None,
        ready_timeout: float = constants.PORT_FORWARD_READY_SECONDS,
    ) -> None:
        """Describes the forward; :meth:`start` (or ``with``) launches it."""
        kubectl = shutil.which("kubectl")
        if kubectl is None:
            raise PortForwardError(
                "kubectl not found on PATH: install it or use --rest-url"
            )
        self.argv = build_command(resource, ports, namespace, context, kubectl)
        self.ports = ports
        self.ready_timeout = ready_timeout
        self.local_ports: dict[str, int] = {}
        self.process: subprocess.Popen[str] | None = None
        self._lines: list[str] = []
        self._changed = threading.Condition()

    def _pump(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            logger.debug("port-forward: %s", line.rstrip())
            with self._changed:
                self._lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def start(self) -> dict[str, int]:
        """Starts kubectl and waits until every port is forwarded.

        Raises:
            PortForwardError: kubectl exited or did not report all ports in time.
        """
        logger.info("running %s", " ".join(self.argv))
        self.process = subprocess.Popen(
            self.argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        reader = threading.Thread(
            target=self._pump, args=(self.process.stdout,), daemon=True
        )
        reader.start()
        deadline = time.monotonic() + self.ready_timeout
        with self._changed:
            while True:
                pairs = parse_forwarding(self._lines)
                if len(pairs) >= len(self.ports):
                    break
                if self.process.poll() is not None:
                    self._changed.release()
                    reader.join(timeout=2)  # collect what kubectl printed
                    self._changed.acquire()
                    output = "".join(self._lines).strip()
                    self.stop()
                    raise PortForwardError(f"kubectl port-forward exited: {output}")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self.stop()
                    raise PortForwardError(
                        f"no forwarding lines after {self.ready_timeout:g}s: "
                        + "".join(self._lines).strip()
                    )
                self._changed.wait(min(remaining, 0.2))
        self.local_ports = assign_ports(self.ports, pairs)
        return self.local_ports

    def stop(self) -> None:
        """Terminates kubectl (SIGTERM, then SIGKILL after 5 s)."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
        except ProcessLookupError:
            pass

    def __enter__(self) -> PortForward:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
