"""One worker's event loop: open-loop dispatch (or closed loop) and recording.

Each request has three timestamps from ``time.perf_counter_ns()``:
``scheduled`` (from the arrival schedule), ``sent`` (just before the client
call, after waiting for a free connection) and ``done``. Latency is charged
from ``scheduled`` (coordinated-omission free); ``done - sent`` is kept as the
uncorrected view and ``sent - scheduled`` as client lag. ``dispatched - scheduled``
(dispatch lag) measures the generator alone and feeds the validity gate. With
``retry_connection_errors`` the client may make a second attempt inside its
``call()``; ``sent`` stays the first attempt's, so ``done`` charges both.

The dispatcher waits for the next arrival on a Linux timerfd (see
``loadtest.timer``): the event loop's own timers have 1 ms resolution, and
spinning instead burns a core (measured: 0.97 vs 0.37 CPU at 2,500 gRPC req/s).
Requests that fall due while the loop is busy are fired together on wake-up;
their lateness is measured as dispatch lag and gated, never hidden.

Typical usage example:

    result = run_worker(config, worker_index=0)
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import threading
import time
from dataclasses import dataclass

from loadtest import constants
from loadtest.clients import GrpcClient, RestClient
from loadtest.recorder import Recorder
from loadtest.schedule import arrivals
from loadtest.timer import make_timer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunConfig:
    """Everything a worker needs (picklable for spawned processes)."""

    protocol: str
    target: str
    model_name: str
    rest_body: bytes
    grpc_request: bytes
    rate: float
    duration_s: float
    warmup_s: float
    arrival: str = "constant"
    seed: int = constants.DEFAULT_SEED
    closed_loop: bool = False
    concurrency: int = 1
    connections: int = constants.DEFAULT_GRPC_CONNECTIONS
    deadline_s: float = constants.DEFAULT_DEADLINE_S
    max_backlog: int = 1000
    max_behind_s: float = constants.DEFAULT_MAX_BACKLOG_S
    on_time_allowance_s: float = constants.DEFAULT_MAX_LAG_P99_MS / 1000
    processes: int = 1
    retry_connection_errors: bool = False
    # A version label (REST ``/labels/<label>:predict``); gRPC carries it in
    # ``grpc_request`` (payload.grpc_request_bytes(..., label=...)).
    label: str | None = None
    # "python" (this module) or "go" (loadtest.go_engine, one process).
    engine: str = "python"

    @property
    def rest_url(self) -> str:
        """The REST predict URL (``.../labels/<label>:predict`` with a label)."""
        model = f"{self.target.rstrip('/')}/v1/models/{self.model_name}"
        if self.label:
            model += f"/labels/{self.label}"
        return f"{model}:predict"


def make_client(cfg: RunConfig, connections: int) -> RestClient | GrpcClient:
    """Build the protocol client for one worker."""
    retry = cfg.retry_connection_errors
    if cfg.protocol == "rest":
        return RestClient(
            cfg.rest_url, cfg.rest_body, connections, cfg.deadline_s, retry
        )
    return GrpcClient(
        cfg.target,
        cfg.grpc_request,
        connections,
        cfg.deadline_s,
        retry_connection_errors=retry,
    )


def worker_connections(cfg: RunConfig) -> int:
    """One worker's connections: its share of ``connections``, and for a REST
    closed loop at least one per user (HTTP/1.1 carries one request at a time)."""
    conns = max(1, -(-cfg.connections // cfg.processes))
    if cfg.protocol == "rest" and cfg.closed_loop:
        conns = max(conns, -(-cfg.concurrency // cfg.processes))
    return conns


_gc_lock = threading.Lock()
_gc_holders = 0


@contextlib.contextmanager
def cyclic_gc_paused():
    """Collects once, then leaves the heap to reference counting until the last
    worker of this process leaves (arms may run as threads of one process).

    A full pass walks every live object: about 200 ms in a process that has
    imported TensorFlow (363k objects), a stall no schedule survives. The
    collection runs before the start barrier, so no request is scheduled
    behind it.
    """
    global _gc_holders
    with _gc_lock:
        if _gc_holders == 0:
            gc.collect()
            gc.freeze()
            gc.disable()
        _gc_holders += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_holders -= 1
            if _gc_holders == 0:
                gc.enable()
                gc.unfreeze()


class _Worker:
    def __init__(self, cfg: RunConfig, index: int):
        self.cfg = cfg
        self.index = index
        share = cfg.processes
        self.rate = cfg.rate / share
        self.conns = worker_connections(cfg)
        self.backlog_bound = max(1, cfg.max_backlog // share)
        self.pending = 0
        self.max_backlog = 0
        self.aborted = False
        self.abort_reason = ""
        self.in_flight: set[asyncio.Task] = set()
        self.behind_bound_ns = int(cfg.max_behind_s * 1e9)

    def _abort(self, reason: str) -> None:
        if not self.aborted:
            self.aborted = True
            self.abort_reason = reason
            log.error("worker %d: %s; aborting the run (INVALID)", self.index, reason)

    async def _one(
        self,
        client,
        rec: Recorder,
        sem: asyncio.Semaphore | None,
        sched: int,
        warm: bool,
    ) -> None:
        dispatched = time.perf_counter_ns()
        if sem is not None:
            await sem.acquire()
        try:
            sent = time.perf_counter_ns()
            self.pending -= 1
            if self.aborted:
                return
            if sent - sched > self.behind_bound_ns:
                self._abort(f"request sent {(sent - sched) / 1e9:.1f}s behind schedule")
                return
            if not warm:
                rec.on_sent(sent)
            status, error, first_error = await client.call()
            done = time.perf_counter_ns()
        finally:
            if sem is not None:
                sem.release()
        if warm:
            rec.warmup_requests += 1
        else:
            rec.record(sched, dispatched, sent, done, status, error, first_error)

    async def open_loop(self, client, rec: Recorder, t0: int, measure_ns: int) -> None:
        cfg = self.cfg
        span = cfg.warmup_s + cfg.duration_s
        phase = self.index / cfg.rate if cfg.arrival == "constant" else 0.0
        offsets = arrivals(self.rate, span, cfg.arrival, cfg.seed + self.index, phase)
        times = (offsets + t0).tolist()
        sem = asyncio.Semaphore(self.conns) if cfg.protocol == "rest" else None
        timer = make_timer(asyncio.get_running_loop())
        try:
            await self._dispatch(client, rec, sem, times, measure_ns, timer)
        finally:
            timer.close()
        if self.in_flight:
            await asyncio.gather(*list(self.in_flight), return_exceptions=True)

    async def _dispatch(self, client, rec, sem, times, measure_ns, timer) -> None:
        loop = asyncio.get_running_loop()
        n = len(times)
        i = 0
        perf = time.perf_counter_ns
        tasks = self.in_flight
        while i < n:
            now = perf()
            while i < n and times[i] <= now:
                sched = times[i]
                warm = sched < measure_ns
                if not warm:
                    rec.on_scheduled(sched)
                self.pending += 1
                task = loop.create_task(self._one(client, rec, sem, sched, warm))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                i += 1
            if self.pending > self.max_backlog:
                self.max_backlog = self.pending
            if self.pending > self.backlog_bound:
                self._abort(
                    f"backlog {self.pending} exceeds bound {self.backlog_bound}"
                )
            if self.aborted:
                for sched in times[i:]:
                    if sched >= measure_ns:
                        rec.on_scheduled(sched)
                break
            if i < n:
                await timer.wait_until(times[i])

    async def closed_loop(
        self, client, rec: Recorder, t0: int, measure_ns: int
    ) -> None:
        cfg = self.cfg
        end = t0 + int((cfg.warmup_s + cfg.duration_s) * 1e9)
        perf = time.perf_counter_ns

        async def user() -> None:
            while True:
                sent = perf()
                if sent >= end:
                    return
                warm = sent < measure_ns
                if not warm:
                    rec.on_scheduled(sent)
                    rec.on_sent(sent)
                status, error, first_error = await client.call()
                if warm:
                    rec.warmup_requests += 1
                else:
                    rec.record(sent, sent, sent, perf(), status, error, first_error)

        users = max(1, -(-cfg.concurrency // cfg.processes))
        await asyncio.gather(*(user() for _ in range(users)))

    async def run(self, barrier=None) -> dict:
        cfg = self.cfg
        client = make_client(cfg, self.conns)
        await client.start()
        try:
            with cyclic_gc_paused():
                return await self._measure(client, barrier)
        finally:
            await client.close()

    async def _measure(self, client, barrier) -> dict:
        cfg = self.cfg
        if barrier is not None:
            await asyncio.get_running_loop().run_in_executor(None, barrier.wait)
        t0 = time.perf_counter_ns() + 20_000_000
        measure_ns = t0 + int(cfg.warmup_s * 1e9)
        window_end = measure_ns + int(cfg.duration_s * 1e9)
        late_after = None
        if not cfg.closed_loop:
            late_after = window_end + int(cfg.on_time_allowance_s * 1e9)
        rec = Recorder(measure_ns, int(round(cfg.duration_s)), late_after)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await asyncio.sleep((t0 - time.perf_counter_ns()) / 1e9)
        if cfg.closed_loop:
            await self.closed_loop(client, rec, t0, measure_ns)
        else:
            await self.open_loop(client, rec, t0, measure_ns)
        result = rec.to_result()
        result.update(
            max_backlog=self.max_backlog,
            aborted=self.aborted,
            abort_reason=self.abort_reason,
            cpu_s=time.process_time() - cpu0,
            wall_s=time.perf_counter() - wall0,
        )
        return result


async def _preflight(cfg: RunConfig) -> tuple[str, str | None]:
    client = make_client(cfg, 1)
    try:
        await client.start()
        status, error, _ = await client.call()
        return status, error
    except (OSError, asyncio.TimeoutError) as exc:
        return "unreachable", f"{type(exc).__name__}: {exc}"
    finally:
        await client.close()


def preflight(cfg: RunConfig) -> tuple[str, str | None]:
    """Send one request before the run; return (status, error or None)."""
    return asyncio.run(_preflight(cfg))


def _install_fast_loop() -> None:
    try:
        import uvloop  # type: ignore[import-not-found]
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def run_worker(cfg: RunConfig, index: int = 0, barrier=None) -> dict:
    """Run one worker to completion and return its result (either engine)."""
    if cfg.engine == "go":
        from loadtest import go_engine

        if barrier is not None:
            barrier.wait()
        return go_engine.run_worker(cfg)
    _install_fast_loop()
    return asyncio.run(_Worker(cfg, index).run(barrier))


def worker_entry(cfg: RunConfig, index: int, barrier, queue) -> None:
    """Entry point of a spawned worker process: puts (index, result|error)."""
    logging.basicConfig(level=logging.WARNING)
    try:
        queue.put((index, run_worker(cfg, index, barrier), None))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        queue.put((index, None, f"{type(exc).__name__}: {exc}"))
        if barrier is not None:
            barrier.abort()
