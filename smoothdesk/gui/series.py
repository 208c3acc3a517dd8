"""The dashboard's time series: helper Metrics samples flattened into named, bounded series."""

from __future__ import annotations

import csv
import math
from collections import deque
from pathlib import Path
from typing import Any

KEEP = 4000
"""Points per series: an hour at 1 Hz with room for the 2 Hz signal cap's bursts."""

PLAIN_KEYS = (
    "cpu_busy",
    "psi_cpu_some",
    "psi_io_some",
    "psi_memory_some",
    "latency_p50_ms",
    "latency_p95_ms",
    "latency_p99_ms",
    "score",
    "focus_cpu_wait_ms",
    "focus_cpu_wait_max_ms",
)
CLASS_PREFIX = "cpu_class:"


def wait_text(sample: dict[str, Any]) -> str:
    """The focused app's CPU wait in a person's words, e.g. "firefox waited 14 ms for a CPU in the
    last second (worst single wait 3.1 ms)"; says so when no focus source reports, never "0 ms"."""
    wait = sample.get("focus_cpu_wait_ms")
    if not isinstance(wait, int | float):
        return "focused app's CPU wait: not measured (no session agent reports the focused window)"
    app = str(sample.get("focus_app") or "the focused app")
    worst = sample.get("focus_cpu_wait_max_ms")
    tail = f" (worst single wait {worst:.1f} ms)" if isinstance(worst, int | float) and wait > 0 else ""
    return f"{app} waited {wait:.0f} ms for a CPU in the last second{tail}"


def flatten(sample: dict[str, Any], mem_total: float | None, swap_total: float | None) -> dict[str, float]:
    """One sample's plottable numbers; keys the helper does not send are simply absent."""
    out: dict[str, float] = {}
    for key in PLAIN_KEYS:
        value = sample.get(key)
        if isinstance(value, int | float) and math.isfinite(value):
            out[key] = float(value)
    by_class = sample.get("cpu_by_class")
    if isinstance(by_class, dict):
        for klass, value in by_class.items():
            if isinstance(value, int | float):
                out[CLASS_PREFIX + str(klass)] = float(value)
    total = sample.get("mem_total", mem_total)
    available = sample.get("mem_available")
    if isinstance(total, int | float) and total > 0 and isinstance(available, int | float):
        out["mem_used_pct"] = 100.0 * (total - available) / total
    stotal = sample.get("swap_total", swap_total)
    sfree = sample.get("swap_free")
    if isinstance(stotal, int | float) and stotal > 0 and isinstance(sfree, int | float):
        out["swap_used_pct"] = 100.0 * (stotal - sfree) / stotal
    return out


class SeriesStore:
    """Named (time, value) series, oldest first, each at most KEEP points long."""

    def __init__(self, keep: int = KEEP) -> None:
        self._keep = keep
        self._series: dict[str, tuple[deque[float], deque[float]]] = {}
        self.last_time = float("-inf")

    def add(self, when: float, values: dict[str, float]) -> None:
        for name, value in values.items():
            times, vals = self._series.setdefault(name, (deque(maxlen=self._keep), deque(maxlen=self._keep)))
            if times and when <= times[-1]:
                continue  # a replayed or out-of-order sample: history and live overlap
            times.append(when)
            vals.append(value)
        self.last_time = max(self.last_time, when)

    def clear(self) -> None:
        self._series.clear()
        self.last_time = float("-inf")

    def names(self) -> list[str]:
        return sorted(self._series)

    def has(self, name: str) -> bool:
        return name in self._series and bool(self._series[name][0])

    def window(self, name: str, since: float) -> tuple[list[float], list[float]]:
        """The points of `name` at or after `since` (wall-clock seconds)."""
        if name not in self._series:
            return [], []
        times, vals = self._series[name]
        start = _first_at_or_after(times, since)
        return list(times)[start:], list(vals)[start:]

    def write_csv(self, path: Path, names: list[str], since: float) -> int:
        """One row per time stamp with a column per series (blank where a series has no point)."""
        rows: dict[float, dict[str, float]] = {}
        for name in names:
            for t, v in zip(*self.window(name, since), strict=True):
                rows.setdefault(t, {})[name] = v
        with path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(["time", *names])
            for t in sorted(rows):
                row = rows[t]
                writer.writerow([f"{t:.3f}", *(_cell(row.get(n)) for n in names)])
        return len(rows)


def _cell(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"


def _first_at_or_after(times: deque[float], since: float) -> int:
    lo, hi = 0, len(times)
    while lo < hi:
        mid = (lo + hi) // 2
        if times[mid] < since:
            lo = mid + 1
        else:
            hi = mid
    return lo
