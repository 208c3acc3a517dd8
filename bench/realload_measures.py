"""The interactive measures of bench_realload: cyclictest, the CPU-working waker, an app launch.

Each measure is an argv run inside the measured app (see realload_app.py) and a parser of what
it printed. Figures are microseconds except the launch (milliseconds).
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from pathlib import Path

CYCLIC_INTERVAL_US = 4000
HISTOGRAM_US = 50000
FIFO_PRIO = 50
LAUNCH_CODE = "import json, email, http.client, sqlite3"


class ParseError(ValueError):
    """cyclictest printed something this parser does not understand (names the line)."""


def cyclictest_argv(seconds: float, fifo: bool) -> list[str]:
    """One thread, absolute 4 ms timer, histogram in 1 us buckets up to 50 ms, summary only."""
    policy = ["--policy=fifo", f"--priority={FIFO_PRIO}"] if fifo else ["--policy=other"]
    loops = max(10, round(seconds * 1e6 / CYCLIC_INTERVAL_US))
    return [
        "cyclictest",
        *policy,
        f"--interval={CYCLIC_INTERVAL_US}",
        f"--loops={loops}",
        "--quiet",
        f"--histogram={HISTOGRAM_US}",
    ]


def _percentile(buckets: Sequence[tuple[int, int]], total: int, p: float, overflow_value: int) -> int:
    """The same rank as bench/probe.c uses: sample round(p * (n - 1)) of the sorted samples."""
    rank = int(p * (total - 1) + 0.5)
    seen = 0
    for value, count in buckets:
        seen += count
        if rank < seen:
            return value
    return overflow_value


def parse_cyclictest(text: str) -> dict[str, float]:
    """p50/p99/max (us), samples and overflows from `cyclictest -q -h N` output (one thread)."""
    buckets: list[tuple[int, int]] = []
    summary: dict[str, int] = {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            key, sep, value = line[1:].partition(":")
            fields = value.split()
            if sep and fields and fields[0].isdigit():
                summary[key.strip()] = int(fields[0])
            continue
        parts = line.split()
        if len(parts) != 2 or not all(p.isdigit() for p in parts):
            raise ParseError(f"cyclictest output line {lineno}: not a histogram row: {raw!r}")
        us, count = int(parts[0]), int(parts[1])
        if count:
            buckets.append((us, count))
    if "Max Latencies" not in summary:
        raise ParseError("cyclictest output has no '# Max Latencies' line (did it run with -q -h?)")
    overflows = summary.get("Histogram Overflows", 0)
    total = sum(c for _, c in buckets) + overflows
    if total == 0:
        raise ParseError("cyclictest recorded no samples")
    top = summary["Max Latencies"]
    return {
        "samples": total,
        "p50": _percentile(buckets, total, 0.50, top),
        "p99": _percentile(buckets, total, 0.99, top),
        "max": top,
        "overflows": overflows,
    }


def waker_argv(probe: Path, seconds: float, fifo: bool) -> list[str]:
    """bench/probe.c: wakes every 4 ms and does 0.5 ms of CPU work; wake and completion lateness."""
    return [str(probe), f"{seconds:g}", *(["fifo"] if fifo else [])]


def parse_waker(text: str) -> dict[str, float]:
    out = json.loads(text)
    fig = {"p99": out["p99"], "done_p99": out["done_p99"], "max": out["max"], "samples": out["samples"]}
    return {**fig, "slice_us": out["slice_ns"] / 1000} if "slice_ns" in out else fig


def launch_argv(fifo: bool) -> list[str]:
    """A fresh interpreter importing a few stdlib modules, like an app starting up."""
    base = ["python3", "-c", LAUNCH_CODE]
    return ["chrt", "-f", str(FIFO_PRIO), *base] if fifo else base


def median_launch_ms(seconds: Sequence[float]) -> float:
    return 1000.0 * statistics.median(seconds)
