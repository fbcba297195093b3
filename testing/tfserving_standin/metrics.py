"""In-process metrics with TF Serving's names, exported in Prometheus text.

Names, labels and bucket limits follow servables/tensorflow/util.cc and
util/prometheus_exporter.cc: ``/tensorflow/serving/request_count`` becomes
``:tensorflow:serving:request_count`` and so on.

Typical usage example:

    metrics.REGISTRY.record_request("m", "OK")
    text = metrics.REGISTRY.prometheus_page()
"""

import bisect
import re
import sys
import threading

# monitoring::Buckets::Exponential(10, 1.8, 33) plus the DBL_MAX overflow bucket.
_LATENCY_LIMITS: list[float] = []
_bound = 10.0
for _ in range(33):
    _LATENCY_LIMITS.append(_bound)
    _bound *= 1.8
_LATENCY_LIMITS.append(sys.float_info.max)

REQUEST_COUNT = "/tensorflow/serving/request_count"
REQUEST_LATENCY = "/tensorflow/serving/request_latency"
RUNTIME_LATENCY = "/tensorflow/serving/runtime_latency"
WARMUP_LATENCY = "/tensorflow/serving/model_warmup_latency"
LOAD_ATTEMPTS = "/tensorflow/cc/saved_model/load_attempt_count"
LOAD_LATENCY = "/tensorflow/cc/saved_model/load_latency"

_LABELS = {
    REQUEST_COUNT: ("model_name", "status"),
    REQUEST_LATENCY: ("model_name", "API", "entrypoint"),
    RUNTIME_LATENCY: ("model_name", "API", "runtime"),
    WARMUP_LATENCY: ("model_path", "status"),
    LOAD_ATTEMPTS: ("model_path", "status"),
    LOAD_LATENCY: ("model_path",),
}
_HISTOGRAMS = {REQUEST_LATENCY, RUNTIME_LATENCY, WARMUP_LATENCY}


def _g(value: float) -> str:
    """absl::StrCat(double): six significant digits."""
    return "%g" % value


def _prom_name(name: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_]", ":", name)


def _label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


class _Histogram:
    __slots__ = ("buckets", "total")

    def __init__(self) -> None:
        self.buckets = [0] * len(_LATENCY_LIMITS)
        self.total = 0.0

    def add(self, value: float) -> None:
        self.buckets[bisect.bisect_right(_LATENCY_LIMITS, value)] += 1
        self.total += value


class Registry:
    """Thread-safe counters and histograms keyed by metric name and labels."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cells: dict[str, dict[tuple[str, ...], object]] = {
            name: {} for name in _LABELS
        }

    def _count(self, name: str, labels: tuple[str, ...], by: int = 1) -> None:
        with self._lock:
            cells = self._cells[name]
            cells[labels] = cells.get(labels, 0) + by

    def _observe(self, name: str, labels: tuple[str, ...], value: float) -> None:
        with self._lock:
            cell = self._cells[name].get(labels)
            if cell is None:
                cell = self._cells[name][labels] = _Histogram()
            cell.add(value)

    def record_request(self, model_name: str, status: str) -> None:
        """RecordModelRequestCount: one request and its status code name."""
        self._count(REQUEST_COUNT, (model_name, status))

    def record_request_latency(
        self, model_name: str, api: str, entrypoint: str, micros: int
    ) -> None:
        """RecordRequestLatency (successful requests only, like upstream)."""
        self._observe(REQUEST_LATENCY, (model_name, api, entrypoint), micros)

    def record_runtime(self, model_name: str, api: str, micros: int) -> None:
        """RecordRuntimeLatency for one session run."""
        self._observe(RUNTIME_LATENCY, (model_name, api, "TF1"), micros)

    def record_warmup(self, model_path: str, status: str, micros: int) -> None:
        self._observe(WARMUP_LATENCY, (model_path, status), micros)

    def record_load(self, model_path: str, ok: bool, micros: int = 0) -> None:
        self._count(LOAD_ATTEMPTS, (model_path, "success" if ok else "fail"))
        if ok:
            self._count(LOAD_LATENCY, (model_path,), micros)

    def value(self, name: str, labels: tuple[str, ...]):
        """Returns a counter value or histogram cell (for tests)."""
        with self._lock:
            return self._cells[name].get(labels)

    def prometheus_page(self) -> str:
        """Renders every metric like PrometheusExporter::GeneratePage."""
        lines: list[str] = []
        with self._lock:
            for name in sorted(self._cells):
                prom = _prom_name(name)
                label_names = _LABELS[name]
                cells = self._cells[name]
                if name in _HISTOGRAMS:
                    lines.append(f"# TYPE {prom} histogram")
                else:
                    lines.append(f"# TYPE {prom} counter")
                for labels in sorted(cells):
                    pairs = ",".join(
                        f'{key}="{_label_value(value)}"'
                        for key, value in zip(label_names, labels, strict=True)
                    )
                    cell = cells[labels]
                    if name not in _HISTOGRAMS:
                        lines.append(f"{prom}{{{pairs}}} {cell}")
                        continue
                    prefix = f"{prom}_bucket{{{pairs},"
                    cumulative = 0
                    for index, count in enumerate(cell.buckets):
                        cumulative += count
                        last = index == len(cell.buckets) - 1
                        limit = "+Inf" if last else _g(_LATENCY_LIMITS[index])
                        lines.append(f'{prefix}le="{limit}"}} {cumulative}')
                    lines.append(f"{prom}_sum{{{pairs}}} {_g(cell.total)}")
                    lines.append(f"{prom}_count{{{pairs}}} {cumulative}")
        return "\n".join(lines) + "\n"


REGISTRY = Registry()
