"""Per-worker latency recording into HdrHistograms, and lossless merging.

Values are microseconds. Each worker records into its own histograms and ships
them to the parent as encoded histoblobs, which are merged with
``decode_and_add`` (no loss of precision).

Typical usage example:

    rec = Recorder(measure_start_ns, n_seconds=30)
    rec.record(scheduled, dispatched, sent, done, "200", None)
    merged = merge_results([rec.to_result(), other])
"""

from __future__ import annotations

from array import array
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from hdrh.histogram import HdrHistogram

from loadtest import constants

HIST_NAMES = ("corrected", "uncorrected", "lag", "dispatch_lag", "all_attempts")
# Raw rows kept before they are folded into the histograms (about 33 B each).
MAX_RAW_ROWS = 5_000_000


def new_histogram() -> HdrHistogram:
    """Return an empty histogram covering 1 us .. 1 h with 3 significant digits."""
    return HdrHistogram(
        constants.HIST_LOWEST_US, constants.HIST_HIGHEST_US, constants.HIST_DIGITS
    )


def record_many(hist: HdrHistogram, values_ns: np.ndarray) -> None:
    """Add nanosecond values to a microsecond histogram, one call per distinct value."""
    if values_ns.size == 0:
        return
    values_us = np.clip(
        values_ns // 1000, constants.HIST_LOWEST_US, constants.HIST_HIGHEST_US
    )
    distinct, counts = np.unique(values_us, return_counts=True)
    for value, count in zip(distinct.tolist(), counts.tolist(), strict=True):
        hist.record_value(value, count)


@dataclass
class Second:
    """Counters and a corrected-latency histogram for one second of the run."""

    scheduled: int = 0
    sent: int = 0
    ok: int = 0
    errors: int = 0
    hist: HdrHistogram = field(default_factory=new_histogram)


class Recorder:
    """Records one worker's measured requests (warm-up ones are only counted).

    The hot path only appends four timestamps and an ok flag to arrays; the
    histograms are filled from them in bulk after the run (or when the raw
    buffer reaches ``MAX_RAW_ROWS``).

    Args:
        measure_start_ns: ``perf_counter_ns`` when the measured window opens.
        n_seconds: length of the measured window in whole seconds.
        late_after_ns: sends after this instant count as late (not on time
            for the achieved-rate gate); None = never late.
    """

    def __init__(
        self, measure_start_ns: int, n_seconds: int, late_after_ns: int | None = None
    ) -> None:
        self.measure_start_ns = measure_start_ns
        self.late_after_ns = late_after_ns
        self.sent_late = 0
        self.hists = {name: new_histogram() for name in HIST_NAMES}
        self.seconds = [Second() for _ in range(max(1, n_seconds))]
        self.statuses: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.retried: Counter[str] = Counter()
        self.retried_ok = 0
        self.warmup_requests = 0
        self.scheduled = 0
        self.sent = 0
        self.ok = 0
        self.failed = 0
        self.first_sent_ns: int | None = None
        self.last_sent_ns: int | None = None
        self._raw = tuple(array("q") for _ in range(4))
        self._ok_flags = bytearray()

    def _second(self, t_ns: int) -> Second:
        idx = (t_ns - self.measure_start_ns) // 1_000_000_000
        if idx >= len(self.seconds):
            self.seconds.extend(Second() for _ in range(idx + 1 - len(self.seconds)))
        return self.seconds[max(0, idx)]

    def on_scheduled(self, scheduled_ns: int) -> None:
        """Count a request scheduled inside the measured window."""
        self.scheduled += 1
        self._second(scheduled_ns).scheduled += 1

    def on_sent(self, sent_ns: int) -> None:
        """Count a request actually handed to the client library."""
        self.sent += 1
        if self.late_after_ns is not None and sent_ns > self.late_after_ns:
            self.sent_late += 1
        if self.first_sent_ns is None:
            self.first_sent_ns = sent_ns
        self.last_sent_ns = sent_ns
        self._second(sent_ns).sent += 1

    def record(
        self,
        scheduled_ns: int,
        dispatched_ns: int,
        sent_ns: int,
        done_ns: int,
        status: str,
        error: str | None,
        first_error: str | None = None,
    ) -> None:
        """Record a finished request's timestamps and its outcome.

        Args:
            scheduled_ns, dispatched_ns, sent_ns, done_ns: the request's
                timestamps; ``sent_ns`` is its first attempt's send.
            status: final status.
            error: final error kind, None when the request succeeded.
            first_error: the first attempt's error kind when the request was
                retried, else None.
        """
        raw = self._raw
        raw[0].append(scheduled_ns)
        raw[1].append(dispatched_ns)
        raw[2].append(sent_ns)
        raw[3].append(done_ns)
        self.statuses[status] += 1
        if error is None:
            self.ok += 1
            self._ok_flags.append(1)
        else:
            self.failed += 1
            self.errors[error] += 1
            self._ok_flags.append(0)
        if first_error is not None:
            self.retried[first_error] += 1
            if error is None:
                self.retried_ok += 1
        if len(self._ok_flags) >= MAX_RAW_ROWS:
            self.flush()

    def flush(self) -> None:
        """Fold the raw rows into the histograms and per-second rows."""
        if not self._ok_flags:
            return
        sched, disp, sent, done = (np.frombuffer(a, dtype=np.int64) for a in self._raw)
        ok = np.frombuffer(bytes(self._ok_flags), dtype=np.uint8).astype(bool)
        hists = self.hists
        corrected = done - sched
        record_many(hists["lag"], sent - sched)
        record_many(hists["dispatch_lag"], disp - sched)
        record_many(hists["all_attempts"], corrected)
        record_many(hists["corrected"], corrected[ok])
        record_many(hists["uncorrected"], (done - sent)[ok])
        idx = np.maximum((sched - self.measure_start_ns) // 1_000_000_000, 0)
        for sec_index in np.unique(idx).tolist():
            self._second(self.measure_start_ns + sec_index * 1_000_000_000)
            sec = self.seconds[sec_index]
            in_sec = idx == sec_index
            n_ok = int(np.count_nonzero(in_sec & ok))
            sec.ok += n_ok
            sec.errors += int(np.count_nonzero(in_sec)) - n_ok
            record_many(sec.hist, corrected[in_sec & ok])
        self._raw = tuple(array("q") for _ in range(4))
        self._ok_flags = bytearray()

    def to_result(self) -> dict:
        """Return a picklable, JSON-friendly result with encoded histograms."""
        self.flush()
        return {
            "scheduled": self.scheduled,
            "sent": self.sent,
            "sent_late": self.sent_late,
            "ok": self.ok,
            "failed": self.failed,
            "warmup_requests": self.warmup_requests,
            "statuses": dict(self.statuses),
            "errors": dict(self.errors),
            "retried": dict(self.retried),
            "retried_ok": self.retried_ok,
            "first_sent_ns": self.first_sent_ns,
            "last_sent_ns": self.last_sent_ns,
            "measure_start_ns": self.measure_start_ns,
            "hists": {k: h.encode().decode() for k, h in self.hists.items()},
            "seconds": [
                {
                    "scheduled": s.scheduled,
                    "sent": s.sent,
                    "ok": s.ok,
                    "errors": s.errors,
                    "hist": s.hist.encode().decode(),
                }
                for s in self.seconds
            ],
        }


@dataclass
class Merged:
    """Merged results of all workers (histograms decoded)."""

    scheduled: int
    sent: int
    sent_late: int
    ok: int
    failed: int
    warmup_requests: int
    statuses: dict[str, int]
    errors: dict[str, int]
    retried_by_kind: dict[str, int]
    retried_ok: int
    hists: dict[str, HdrHistogram]
    seconds: list[dict]
    send_span_s: float
    max_backlog: int
    aborted: bool
    abort_reason: str
    cpu_s: float
    wall_s: float

    @property
    def retried(self) -> int:
        """Requests that needed a second attempt (``retry_connection_errors``)."""
        return sum(self.retried_by_kind.values())


def merge_results(results: list[dict]) -> Merged:
    """Merge worker results losslessly (counters summed, histograms added).

    Args:
        results: ``to_result()`` dicts, each extended by the engine with
            ``max_backlog``, ``aborted``, ``cpu_s``, ``wall_s``.

    Returns:
        The merged view.
    """
    hists = {name: new_histogram() for name in HIST_NAMES}
    statuses: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    retried: Counter[str] = Counter()
    n_sec = max(len(r["seconds"]) for r in results)
    seconds = [
        {"scheduled": 0, "sent": 0, "ok": 0, "errors": 0, "hist": new_histogram()}
        for _ in range(n_sec)
    ]
    for r in results:
        for name in HIST_NAMES:
            hists[name].decode_and_add(r["hists"][name])
        statuses.update(r["statuses"])
        errors.update(r["errors"])
        retried.update(r["retried"])
        for i, s in enumerate(r["seconds"]):
            for key in ("scheduled", "sent", "ok", "errors"):
                seconds[i][key] += s[key]
            seconds[i]["hist"].decode_and_add(s["hist"])
    firsts = [r["first_sent_ns"] for r in results if r["first_sent_ns"] is not None]
    lasts = [r["last_sent_ns"] for r in results if r["last_sent_ns"] is not None]
    starts = [r["measure_start_ns"] for r in results]
    span = (max(lasts) - min(starts)) / 1e9 if firsts and lasts else 0.0
    return Merged(
        scheduled=sum(r["scheduled"] for r in results),
        sent=sum(r["sent"] for r in results),
        sent_late=sum(r["sent_late"] for r in results),
        ok=sum(r["ok"] for r in results),
        failed=sum(r["failed"] for r in results),
        warmup_requests=sum(r["warmup_requests"] for r in results),
        statuses=dict(statuses),
        errors=dict(errors),
        retried_by_kind=dict(retried),
        retried_ok=sum(r["retried_ok"] for r in results),
        hists=hists,
        seconds=seconds,
        send_span_s=span,
        max_backlog=sum(r.get("max_backlog", 0) for r in results),
        aborted=any(r.get("aborted", False) for r in results),
        abort_reason="; ".join(
            r["abort_reason"] for r in results if r.get("abort_reason")
        ),
        cpu_s=sum(r.get("cpu_s", 0.0) for r in results),
        wall_s=max(r.get("wall_s", 0.0) for r in results),
    )
