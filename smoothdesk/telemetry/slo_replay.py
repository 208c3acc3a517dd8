"""SLO error budgets that survive a restart: the snapshot log's samples replayed into a fresh tracker.

Why samples and not stored window results: the samples are the raw figures, so a config edited
between runs is judged by the new definitions (new thresholds, new SLOs, other windows), and the
judging is SloTracker.observe itself, the code the live ticks run, not a second copy of the math.
The cost is kept down by reading only what the SLOs watch, in one query: each watched figure is
either its own column or pulled out of the `extra` JSON by SQLite's json_extract, so Python sees
a few floats per row instead of parsing every row's JSON (bench/bench_slo_replay.py: 7 days of
1 s samples in 2.7-3.1 s on this loaded 2-core machine, against 6.2 s for whole rows; a live tick's
SLO work is ~21 us). Judging per window in SQL would be faster still, but would be the math written
twice; seconds, once per start, on a background thread, do not need it. Rows whose JSON SQLite cannot
parse (Python writes NaN and Infinity, which SQLite before 3.42 rejects) fall back to json.loads,
so no figure is lost.

Raw ticks older than store.raw_hours live on as per-minute rollups (rollup.py), so the replay
merges two streams in time order: the raw rows, and for each rolled-up minute a few stand-in
values that SloTracker judges exactly as it would the minute's raw values: its minimum and
maximum (all that worst and == need), plus, only for a metric some `mean` SLO watches, count - 2
copies of the rest's mean, so that count and sum are kept too (the mean then differs from the raw
replay's by float rounding at most). A window that does not hold whole minutes (a 30 s or 90 s
window) cannot be judged exactly from them: each minute's values are then put in every such
window the minute overlaps, so a bad value counts against each of them, and a part without
samples is judged as if it had the minute's (pessimistic: never hides a bad window, may count a
few more; the raw part is exact as before).

Read-only: its own `mode=ro` connection, beside the writer (WAL readers never block it). A store
that is corrupt, unreadable or of a newer schema leaves the tracker to start empty, with a log
line that says why; the file is not touched (moving a broken log aside is the store's job,
recovery.py, and happens before this runs).
"""

from __future__ import annotations

import heapq
import json
import math
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smoothdesk.telemetry import rollup
from smoothdesk.telemetry.recovery import refuse_newer
from smoothdesk.telemetry.schema import SAMPLE_COLUMNS, StoreError, user_version
from smoothdesk.telemetry.slo import Slo, SloTracker

CHUNK = 10_000  # rows per fetch: memory stays flat whatever the period


@dataclass(frozen=True, slots=True)
class Replayed:
    tracker: SloTracker
    samples: int  # raw rows read (ticks in the period)
    oldest: float  # time of the oldest tick read, raw or rolled up; NaN when none
    seconds: float
    minutes: int = 0  # rolled-up minutes read
    rolled_ticks: int = 0  # the ticks those minutes were rolled up from


def _select(metrics: Sequence[str], aliases: Mapping[str, str]) -> tuple[str, list[str]]:
    """SQL returning ts, one value per metric, and the raw `extra` only where SQLite cannot parse it."""
    exprs, params = [], []
    for metric in metrics:
        stored = aliases.get(metric, metric)
        if stored in SAMPLE_COLUMNS:
            exprs.append(stored)
        else:
            exprs.append("CASE WHEN json_valid(extra) THEN json_extract(extra, ?) END")
            params.append('$."' + stored.replace('"', '\\"') + '"')
    raw = "CASE WHEN extra IS NULL OR json_valid(extra) THEN NULL ELSE extra END"
    sql = f"SELECT ts, {', '.join([*exprs, raw])} FROM samples WHERE ts >= ? AND ts < ? ORDER BY ts"
    return sql, params


def _rows(cur: sqlite3.Cursor, stop: threading.Event | None) -> Iterable[Sequence[Any]]:
    while stop is None or not stop.is_set():
        chunk = cur.fetchmany(CHUNK)
        if not chunk:
            return
        yield from chunk
    raise StoreError("SLO replay stopped")


def replay(
    path: Path,
    slos: Sequence[Slo],
    *,
    until: float,
    aliases: Mapping[str, str] | None = None,
    stop: threading.Event | None = None,
) -> Replayed:
    """A tracker fed the log's samples in [until - longest period, until); StoreError says why not.

    `aliases` maps an SLO metric to the name it is stored under (the helper judges
    psi_cpu_some_avg10 but logs it as psi_cpu_some).
    """
    started = time.perf_counter()
    tracker = SloTracker(slos)
    if not path.exists() or not slos:
        return Replayed(tracker, 0, math.nan, time.perf_counter() - started)
    count = 0
    metrics = sorted({s.metric for s in slos})
    aliases = aliases or {}
    sql, params = _select(metrics, aliases)
    since = until - max(s.budget_period_s + s.window_s for s in slos)
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=10.0)
        try:
            # One read transaction: the raw rows and the rollups from one snapshot, so a retention
            # pass committed meanwhile cannot show a minute twice or not at all.
            conn.execute("BEGIN")
            # The version through SQLite, not the file header: after a crash it may be only in the WAL.
            version = user_version(conn)
            refuse_newer(path, version)
            rows = _rows(conn.execute(sql, (*params, since, until)), stop) if version else ()
            stored = sorted({aliases.get(m, m) for m in metrics})
            minutes = (
                rollup.read(conn, rollup.minute_of(since), math.ceil(until / rollup.MINUTE), stored)
                if version >= 3
                else []
            )
            first_raw = math.inf
            for ts, figures, is_raw in heapq.merge(
                ((float(r[0]), _figures(metrics, aliases, r), True) for r in rows),
                _stand_ins(minutes, slos, aliases),
                key=lambda e: e[0],
            ):
                if is_raw:
                    count += 1
                    first_raw = min(first_raw, ts)
                tracker.observe(ts, figures)
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise StoreError(f"{path}: cannot replay SLO samples: {exc}") from exc
    oldest = min([first_raw, *(m.first_ts for m in minutes[:1])])
    return Replayed(
        tracker,
        count,
        oldest if math.isfinite(oldest) else math.nan,
        time.perf_counter() - started,
        len(minutes),
        sum(m.ticks for m in minutes),
    )


def _offsets(slos: Sequence[Slo]) -> list[float]:
    """Where in each minute its stand-ins go: 0, plus every window start inside a minute."""
    step = rollup.MINUTE * 1000
    for s in slos:
        step = math.gcd(step, round(s.window_s * 1000))
    return [k / 1000 for k in range(0, rollup.MINUTE * 1000, step)]


def _values(stat: rollup.Stat, mean: bool) -> list[float]:
    """Values that SloTracker judges as the minute's raw ones (see the module docstring)."""
    if stat.n == 1 or (stat.lo == stat.hi and not mean):
        return [stat.lo]
    if not mean or stat.n == 2:
        return [stat.lo, stat.hi]
    rest = min(stat.hi, max(stat.lo, (stat.total - stat.lo - stat.hi) / (stat.n - 2)))
    return [stat.lo, stat.hi, *([rest] * (stat.n - 2))]


def _stand_ins(
    minutes: Sequence[rollup.Minute], slos: Sequence[Slo], aliases: Mapping[str, str]
) -> Iterator[tuple[float, dict[str, float], bool]]:
    offsets = _offsets(slos)
    means = {s.metric for s in slos if s.aggregate == "mean"}
    metrics = sorted({s.metric for s in slos})
    for m in minutes:
        values = {
            metric: _values(m.stats[stored], metric in means)
            for metric in metrics
            if (stored := aliases.get(metric, metric)) in m.stats
        }
        depth = max((len(v) for v in values.values()), default=0)
        for offset in offsets:
            for k in range(depth):
                yield (
                    m.minute * rollup.MINUTE + offset,
                    {n: v[k] for n, v in values.items() if k < len(v)},
                    False,
                )


def _figures(metrics: Sequence[str], aliases: Mapping[str, str], row: Sequence[Any]) -> dict[str, float]:
    values: Sequence[Any] = row[1:-1]
    if row[-1] is not None:  # JSON with NaN or Infinity: Python's parser takes them
        extra = json.loads(row[-1])
        values = [
            extra.get(aliases.get(m, m)) if v is None else v for m, v in zip(metrics, values, strict=True)
        ]
    return {m: float(v) for m, v in zip(metrics, values, strict=True) if isinstance(v, int | float)}
