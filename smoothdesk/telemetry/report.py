"""A report over the snapshot log: summary statistics, downsampled series, top apps, time per class.

A long range reaches past store.raw_hours into the per-minute rollups (rollup.py). There the
charts and metric summaries use the rollups: count, mean and max are exact; p50 and p95 are
taken over each rolled-up minute's mean weighted by its count (a minute's spread is not kept),
so they understate spikes shorter than a minute, and `metrics[...]["rolled_up"]` says how many
values came from rollups. Decision changes are counted per minute, so exact.

Top apps and time per class read the group rows: every detail tick's (store.detail_every) after
`range.raw_first`, and before it one detail tick's per rolled-up minute (rollup.thin), back to
`range.groups_first`. Each row is weighted by the seconds it stands for
(`range.group_row_seconds`: the detail gap when raw, a minute when thinned), so a CPU mean or a
class's seconds is a sample of the range at that spacing: exact for steady groups, and a group
that ran for less than the spacing between two rows may be missed or counted for the whole gap.
"""

from __future__ import annotations

import itertools
import math
import re
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from smoothdesk.telemetry.rollup import Minute
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


# A point of a series: (time, weight in ticks, {metric: (count, sum, max)}); a raw sample is one
# tick with count 1, a rolled-up minute its ticks and its Stats.
Point = tuple[float, int, dict[str, tuple[int, float, float]]]


def points(samples: Sequence[dict[str, float]], minutes: Sequence[Minute]) -> list[Point]:
    """Raw samples and rolled-up minutes as one time-ordered list (finite values only)."""
    out: list[Point] = [
        (
            m.time,
            m.ticks,
            {n: (st.n, st.total, st.hi) for n, st in m.stats.items() if math.isfinite(st.total)},
        )
        for m in minutes
    ]
    out += [
        (s["time"], 1, {n: (1, v, v) for n, v in s.items() if n != "time" and math.isfinite(v)})
        for s in samples
    ]
    return sorted(out, key=lambda p: p[0])


def summarize(
    values: Sequence[float], rolled: Sequence[tuple[float, int, float]] = ()
) -> dict[str, float | int | None]:
    """mean, p50, p95 (nearest rank), max and count of the finite values.

    `rolled`: (mean, count, max) of rolled-up minutes; their percentiles use the mean for each
    of the minute's values (see the module docstring).
    """
    weighted = sorted([(v, 1) for v in values if math.isfinite(v)] + [(m, n) for m, n, _ in rolled])
    count = sum(n for _, n in weighted)
    if not count:
        return {"count": 0, "mean": None, "p50": None, "p95": None, "max": None, "rolled_up": 0}

    def rank(q: float) -> float:
        need, seen = max(1, math.ceil(q * count)), 0
        for v, n in weighted:
            seen += n
            if seen >= need:
                return v
        return weighted[-1][0]

    total = math.fsum([v for v in values if math.isfinite(v)] + [m * n for m, n, _ in rolled])
    return {
        "count": count,
        "mean": _finite(total / count),
        "p50": rank(0.50),
        "p95": rank(0.95),
        "max": max([v for v in values if math.isfinite(v)] + [hi for _, _, hi in rolled]),
        "rolled_up": sum(n for _, n, _ in rolled),
    }


def downsample(series: Sequence[Point], names: Sequence[str], limit: int) -> dict[str, list[Any]]:
    """At most `limit` points per series: consecutive buckets of about equal ticks, each the mean time
    (weighted by ticks) and the mean of all the values in it."""
    n = len(series)
    buckets = min(n, limit)
    out: dict[str, list[Any]] = {"time": [], **{name: [] for name in names}}
    if not n:
        return out
    weight = sum(p[1] for p in series)
    chunks: list[list[Point]] = [[] for _ in range(buckets)]
    seen = 0
    for p in series:
        chunks[min(buckets - 1, seen * buckets // weight)].append(p)
        seen += p[1]
    for chunk in (c for c in chunks if c):
        ticks = sum(p[1] for p in chunk)
        out["time"].append(math.fsum(p[0] * p[1] for p in chunk) / ticks)
        for name in names:
            parts = [p[2][name] for p in chunk if name in p[2]]
            count = sum(c for c, _, _ in parts)
            out[name].append(math.fsum(t for _, t, _ in parts) / count if count else None)
    return out


def tick_seconds(samples: Sequence[dict[str, float]]) -> float:
    """The usual gap between ticks (median), 1 s when there are too few samples to tell."""
    gaps = [b["time"] - a["time"] for a, b in itertools.pairwise(samples) if b["time"] > a["time"]]
    return statistics.median(gaps) if gaps else 1.0


_GROUP_ROWS = {
    # raw: every detail tick's rows; thinned: one detail tick's rows per rolled-up minute (rollup.thin)
    "raw": "samples s JOIN app_groups a ON a.tick = s.tick JOIN groups g ON g.gkey = a.gkey "
    "WHERE s.ts >= ? AND s.ts <= ?",
    "thinned": "thin_minutes s JOIN thin_groups a ON a.minute = s.minute JOIN groups g ON g.gkey = a.gkey "
    "WHERE s.minute >= ? AND s.minute <= ? AND s.ts >= ? AND s.ts <= ?",
}


def _group_rows(
    store: SnapshotStore, kind: str, select: str, span: tuple[float, float], tail: str = ""
) -> list[Any]:
    """SELECT `select` over the raw or the thinned group rows of `span`, then `tail` (GROUP BY...)."""
    since, until = span
    bounds = (
        (since, until) if kind == "raw" else (math.floor(since / 60), math.floor(until / 60), since, until)
    )
    return store.query(f"SELECT {select} FROM {_GROUP_ROWS[kind]} {tail}", bounds)


@dataclass(frozen=True, slots=True)
class GroupSteps:
    """The ticks with group rows in a range, raw and thinned, and the seconds each stands for."""

    raw: list[float]
    thinned: list[float]
    raw_seconds: float
    thinned_seconds: float

    @property
    def covered(self) -> float:
        return len(self.raw) * self.raw_seconds + len(self.thinned) * self.thinned_seconds

    def weight(self, kind: str) -> float:
        return self.raw_seconds if kind == "raw" else self.thinned_seconds


def _gap(times: Sequence[float]) -> float | None:
    gaps = [b - a for a, b in itertools.pairwise(times) if b > a]
    return statistics.median(gaps) if gaps else None


def group_steps(store: SnapshotStore, span: tuple[float, float], tick: float) -> GroupSteps:
    """Raw: the usual gap between ticks with group rows (store.detail_every; `tick` when it cannot
    be told). Thinned: one detail tick per minute stands for a minute, or the detail gap when longer."""
    raw = [r[0] for r in _group_rows(store, "raw", "DISTINCT s.ts", span, "ORDER BY s.ts")]
    thin = [r[0] for r in _group_rows(store, "thinned", "DISTINCT s.ts", span, "ORDER BY s.ts")]
    detail = _gap(raw) or tick
    return GroupSteps(raw, thin, detail, max(60.0, detail if raw else (_gap(thin) or 60.0)))


def top_apps(
    store: SnapshotStore, span: tuple[float, float], steps: GroupSteps, limit: int
) -> dict[str, Any]:
    """Groups with the most CPU (mean percent of a core over the time the group rows cover, each row
    weighted by the seconds it stands for) and the largest peak RSS."""
    apps: dict[str, dict[str, Any]] = {}
    select = "g.group_id, max(g.name), total(a.cpu_tick), max(a.rss_bytes), total(a.rss_bytes), count(*)"
    for kind in ("raw", "thinned"):
        w = steps.weight(kind)
        for gid, name, cpu, peak, rss, n in _group_rows(store, kind, select, span, "GROUP BY g.group_id"):
            app = apps.setdefault(gid, {"name": name, "cpu": 0.0, "peak": peak, "rss": 0.0, "s": 0.0, "n": 0})
            app["cpu"], app["rss"], app["s"] = app["cpu"] + cpu * w, app["rss"] + rss * w, app["s"] + n * w
            app["peak"], app["n"] = max(app["peak"], peak), app["n"] + n
    out = [
        {
            "group_id": gid,
            "name": a["name"],
            "cpu_percent_mean": a["cpu"] / steps.covered,
            "rss_bytes_max": a["peak"],
            "rss_bytes_mean": a["rss"] / a["s"],
            "ticks_seen": a["n"],
        }
        for gid, a in apps.items()
    ]
    by_cpu = sorted(out, key=lambda a: (-a["cpu_percent_mean"], a["group_id"]))[:limit]
    by_rss = sorted(out, key=lambda a: (-a["rss_bytes_max"], a["group_id"]))[:limit]
    return {"cpu": by_cpu, "memory": by_rss}


def class_seconds(store: SnapshotStore, span: tuple[float, float], steps: GroupSteps) -> dict[str, float]:
    """Group-seconds per class: a class held by two groups for a minute counts 120 s."""
    out: dict[str, float] = {}
    for kind in ("raw", "thinned"):
        for klass, n in _group_rows(store, kind, "a.klass, count(*)", span, "GROUP BY a.klass"):
            out[str(klass)] = out.get(str(klass), 0.0) + n * steps.weight(kind)
    return dict(sorted(out.items()))


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
    minutes = store.minutes(since, until)
    series = points(samples, minutes)
    names = sorted({k for p in series for k in p[2]})
    step = tick_seconds(samples) if len(samples) > 1 else _minute_step(minutes)
    steps = group_steps(store, (since, until), step)
    decisions = store.query(
        "SELECT count(*) FROM decisions d JOIN samples s ON s.tick = d.tick WHERE s.ts >= ? AND s.ts <= ?",
        (since, until),
    )[0][0] + sum(m.decisions for m in minutes)
    firsts = [
        x for x in (samples[0]["time"] if samples else None, minutes[0].first_ts if minutes else None) if x
    ]
    lasts = [
        x for x in (samples[-1]["time"] if samples else None, minutes[-1].last_ts if minutes else None) if x
    ]
    return {
        "generated_at": until,
        "since": since,
        "until": until,
        "range": {
            "first": min(firsts) if firsts else None,
            "last": max(lasts) if lasts else None,
            "ticks": len(samples) + sum(m.ticks for m in minutes),
            "tick_seconds": step,
            "rolled_up_minutes": len(minutes),
            "raw_first": samples[0]["time"] if samples else None,
            "groups_first": min(steps.raw[:1] + steps.thinned[:1], default=None),
            "thinned_minutes": len(steps.thinned),
            "group_row_seconds": {"raw": steps.raw_seconds, "thinned": steps.thinned_seconds},
        },
        "metrics": {
            name: summarize(
                [s[name] for s in samples if name in s],
                [
                    (st.mean, st.n, st.hi)
                    for m in minutes
                    if (st := m.stats.get(name)) and math.isfinite(st.total)
                ],
            )
            for name in names
        },
        "series": downsample(series, names, max_points),
        "top_apps": top_apps(store, (since, until), steps, top),
        "class_seconds": class_seconds(store, (since, until), steps),
        "decisions": int(decisions),
        "focus_events": len(store.focus_events(since, until)),
        "problems": list(store.problems),
    }


def _minute_step(minutes: Sequence[Minute]) -> float:
    """The usual gap between ticks inside rolled-up minutes; 1 s when none has two ticks."""
    gaps = [
        (m.last_ts - m.first_ts) / (m.ticks - 1) for m in minutes if m.ticks > 1 and m.last_ts > m.first_ts
    ]
    return statistics.median(gaps) if gaps else 1.0
