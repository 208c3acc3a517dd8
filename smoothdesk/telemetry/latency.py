"""Statistics of one window of probe wake-ups: how late the scheduler woke a sleeper."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

NS_PER_MS = 1_000_000


@dataclass(frozen=True, slots=True)
class LatencyWindow:
    """Wake lateness over one window (normally one helper tick); times in milliseconds.

    `count` is the number of wake-ups measured; `missed` is the number of deadlines that passed while
    the probe was still waiting to run (a wake-up later than one interval skips those deadlines), so
    `count + missed` is close to window length / interval whatever the load. `duration_s` is the span
    the samples cover (the time between the parent's two reads).
    """

    count: int
    missed: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    duration_s: float
    interval_ms: float

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)

    def sample(self) -> dict[str, float]:
        """The window's figures under the sample names SLOs and alerts watch (config SAMPLE_METRICS)."""
        return {
            "latency_p50_ms": self.p50_ms,
            "latency_p95_ms": self.p95_ms,
            "latency_p99_ms": self.p99_ms,
            "latency_max_ms": self.max_ms,
            "latency_missed": float(self.missed),
        }


def percentile(ordered: Sequence[int], q: float) -> int:
    """Nearest-rank percentile of an ascending sequence (q in 0..100): a value that occurred."""
    if not ordered:
        raise ValueError("no samples")
    rank = max(1, math.ceil(q / 100.0 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def stalled(silence_s: float, interval_ns: int, duration_s: float) -> LatencyWindow:
    """A window in which the sampler, alive and heard from before, reported nothing at all.

    That is the worst latency there is, not missing data: every deadline in the silence was missed
    and the pending wake-up is at least as late as the silence, so each percentile is the silence.
    """
    if interval_ns <= 0:
        raise ValueError("interval must be positive")
    late_ms = silence_s * 1000.0
    return LatencyWindow(
        count=0,
        missed=int(silence_s * 1e9 // interval_ns),
        p50_ms=late_ms,
        p95_ms=late_ms,
        p99_ms=late_ms,
        max_ms=late_ms,
        duration_s=duration_s,
        interval_ms=interval_ns / NS_PER_MS,
    )


def summarize(lateness_ns: Sequence[int], interval_ns: int, duration_s: float) -> LatencyWindow | None:
    """The window's statistics, or None when it holds no wake-up."""
    if interval_ns <= 0:
        raise ValueError("interval must be positive")
    if not lateness_ns:
        return None
    ordered = sorted(lateness_ns)
    missed = sum(late // interval_ns for late in ordered if late >= interval_ns)
    return LatencyWindow(
        count=len(ordered),
        missed=missed,
        p50_ms=percentile(ordered, 50) / NS_PER_MS,
        p95_ms=percentile(ordered, 95) / NS_PER_MS,
        p99_ms=percentile(ordered, 99) / NS_PER_MS,
        max_ms=ordered[-1] / NS_PER_MS,
        duration_s=duration_s,
        interval_ms=interval_ns / NS_PER_MS,
    )
