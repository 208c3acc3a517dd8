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

Read-only: its own `mode=ro` connection, beside the writer (WAL readers never block it). A store
that is corrupt, unreadable or of a newer schema leaves the tracker to start empty, with a log
line that says why; the file is not touched (moving a broken log aside is the store's job,
recovery.py, and happens before this runs).
"""

from __future__ import annotations

import json
import math
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smoothdesk.telemetry.recovery import refuse_newer
from smoothdesk.telemetry.schema import SAMPLE_COLUMNS, StoreError, user_version
from smoothdesk.telemetry.slo import Slo, SloTracker

CHUNK = 10_000  # rows per fetch: memory stays flat whatever the period


@dataclass(frozen=True, slots=True)
class Replayed:
    tracker: SloTracker
    samples: int  # rows read (ticks in the period)
    oldest: float  # time of the oldest row read; NaN when none
    seconds: float


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
    count, oldest = 0, math.nan
    if not path.exists() or not slos:
        return Replayed(tracker, count, oldest, time.perf_counter() - started)
    metrics = sorted({s.metric for s in slos})
    aliases = aliases or {}
    sql, params = _select(metrics, aliases)
    since = until - max(s.budget_period_s + s.window_s for s in slos)
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=10.0)
        try:
            # The version through SQLite, not the file header: after a crash it may be only in the WAL.
            version = user_version(conn)
            refuse_newer(path, version)
            rows = _rows(conn.execute(sql, (*params, since, until)), stop) if version else ()
            for row in rows:
                if count == 0:
                    oldest = float(row[0])
                count += 1
                tracker.observe(row[0], _figures(metrics, aliases, row))
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise StoreError(f"{path}: cannot replay SLO samples: {exc}") from exc
    return Replayed(tracker, count, oldest, time.perf_counter() - started)


def _figures(metrics: Sequence[str], aliases: Mapping[str, str], row: Sequence[Any]) -> dict[str, float]:
    values: Sequence[Any] = row[1:-1]
    if row[-1] is not None:  # JSON with NaN or Infinity: Python's parser takes them
        extra = json.loads(row[-1])
        values = [
            extra.get(aliases.get(m, m)) if v is None else v for m, v in zip(metrics, values, strict=True)
        ]
    return {m: float(v) for m, v in zip(metrics, values, strict=True) if isinstance(v, int | float)}
