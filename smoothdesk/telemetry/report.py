"""A report over the snapshot log: summary statistics, downsampled series, top apps, time per class."""

from __future__ import annotations

import itertools
import math
import re
import statistics
import time
from collections.abc import Sequence
from typing import Any

from smoothdesk.telemetry.schema import StoreError
from smoothdesk.telemetry.store import SnapshotStore

MAX_POINTS = 600
TOP_APPS = 10
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")


class ReportError(StoreError):
    """A report was asked for with a bad argument; the message names it."""


def parse_since(text: str) -> float:
    """Seconds from a duration such as "90s", "30m", "24h", "7d", "2w", "1h30m" or a bare number."""
    value = text.strip().lower()
    try:
        seconds = float(value)
    except ValueError:
        parts = _PART.findall(value)
        if not parts or "".join(n + u for n, u in parts) != value:
            raise ReportError(
                f"--since {text!r}: not a duration; use a number with s, m, h, d or w "
                "(e.g. 90s, 30m, 24h, 7d)"
            ) from None
        seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if not math.isfinite(seconds) or seconds <= 0:
        raise ReportError(f"--since {text!r}: must be a positive duration")
    return seconds


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def summarize(values: Sequence[float]) -> dict[str, float | int | None]:
    """mean, p50, p95 (nearest rank), max and count of the finite values."""
    ordered = sorted(v for v in values if math.isfinite(v))
    if not ordered:
        return {"count": 0, "mean": None, "p50": None, "p95": None, "max": None}

    def rank(q: float) -> float:
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)]

    return {
        "count": len(ordered),
        "mean": _finite(math.fsum(ordered) / len(ordered)),
        "p50": rank(0.50),
        "p95": rank(0.95),
        "max": ordered[-1],
    }


def downsample(samples: Sequence[dict[str, float]], names: Sequence[str], limit: int) -> dict[str, list[Any]]:
    """At most `limit` points per series: the mean time and mean value of consecutive equal buckets."""
    n = len(samples)
    buckets = min(n, limit)
    out: dict[str, list[Any]] = {"time": [], **{name: [] for name in names}}
    for b in range(buckets):
        chunk = samples[b * n // buckets : (b + 1) * n // buckets]
        out["time"].append(math.fsum(s["time"] for s in chunk) / len(chunk))
        for name in names:
            values = [s[name] for s in chunk if name in s and math.isfinite(s[name])]
            out[name].append(math.fsum(values) / len(values) if values else None)
    return out


def tick_seconds(samples: Sequence[dict[str, float]]) -> float:
    """The usual gap between ticks (median), 1 s when there are too few samples to tell."""
    gaps = [b["time"] - a["time"] for a, b in itertools.pairwise(samples) if b["time"] > a["time"]]
    return statistics.median(gaps) if gaps else 1.0


def _range_query(store: SnapshotStore, select: str, tail: str, since: float, until: float) -> list[Any]:
    return store.query(
        f"SELECT {select} FROM samples s JOIN app_groups a ON a.tick = s.tick "
        f"JOIN groups g ON g.gkey = a.gkey WHERE s.ts >= ? AND s.ts <= ? {tail}",
        (since, until),
    )


def top_apps(store: SnapshotStore, since: float, until: float, ticks: int, limit: int) -> dict[str, Any]:
    """Groups with the most CPU (mean percent of a core over the range) and the largest peak RSS."""
    rows = _range_query(
        store,
        "g.group_id, max(g.name), sum(a.cpu_tick), max(a.rss_bytes), avg(a.rss_bytes), count(*)",
        "GROUP BY g.group_id",
        since,
        until,
    )
    apps = [
        {
            "group_id": r[0],
            "name": r[1],
            "cpu_percent_mean": r[2] / max(1, ticks),
            "rss_bytes_max": r[3],
            "rss_bytes_mean": r[4],
            "ticks_seen": r[5],
        }
        for r in rows
    ]
    by_cpu = sorted(apps, key=lambda a: (-a["cpu_percent_mean"], a["group_id"]))[:limit]
    by_rss = sorted(apps, key=lambda a: (-a["rss_bytes_max"], a["group_id"]))[:limit]
    return {"cpu": by_cpu, "memory": by_rss}


def build_report(
    store: SnapshotStore,
    since_seconds: float,
    now: float | None = None,
    *,
    max_points: int = MAX_POINTS,
    top: int = TOP_APPS,
) -> dict[str, Any]:
    """Plain JSON-able data about the last `since_seconds` before `now` (wall clock)."""
    until = time.time() if now is None else now
    since = until - since_seconds
    samples = store.samples(since, until)
    names = sorted({k for s in samples for k in s} - {"time"})
    step = tick_seconds(samples)
    per_class = _range_query(store, "a.klass, count(*)", "GROUP BY a.klass ORDER BY a.klass", since, until)
    decisions = store.query(
        "SELECT count(*) FROM decisions d JOIN samples s ON s.tick = d.tick WHERE s.ts >= ? AND s.ts <= ?",
        (since, until),
    )[0][0]
    return {
        "generated_at": until,
        "since": since,
        "until": until,
        "range": {
            "first": samples[0]["time"] if samples else None,
            "last": samples[-1]["time"] if samples else None,
            "ticks": len(samples),
            "tick_seconds": step,
        },
        "metrics": {name: summarize([s[name] for s in samples if name in s]) for name in names},
        "series": downsample(samples, names, max_points),
        "top_apps": top_apps(store, since, until, len(samples), top),
        # group-seconds: a class held by two groups for a minute counts 120 s
        "class_seconds": {str(k): n * step for k, n in per_class},
        "decisions": int(decisions),
        "focus_events": len(store.focus_events(since, until)),
        "problems": list(store.problems),
    }
