"""Per-minute rollups of the snapshot log's samples: folded in as raw ticks age out, read by SLOs and reports.

Per minute and metric the log keeps count, sum, minimum and maximum of the values (NaN skipped,
as the SLO tracker skips it). From these a window of whole minutes is judged exactly as from the
raw samples: `worst` is the maximum (for < and <=) or minimum (for > and >=) of the minutes';
`==` takes the value farthest from the threshold, which is always the minimum or the maximum;
`mean` is sum over count (equal up to float rounding: Python sums the raw values one by one,
the rollup sums per minute first; only a mean within ~1e-15 of the threshold could be judged
differently). What cannot be had exactly: percentiles (reports approximate them from each
minute's mean weighted by its count, see report.py) and windows that do not hold whole minutes
(slo_replay.py). Folding is idempotent across passes: a minute folded again (a tick that arrived
late, the clock set back) is merged into its row, never written twice.

The group rows (the trainer's rows, reports' top apps and class time) are thinned, not folded:
the rows of one detail tick per minute are kept in thin_groups until the minute is dropped, and
the rest go with their ticks, as do all process rows.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from smoothdesk.telemetry import rows
from smoothdesk.telemetry.schema import OBSERVATION_COLUMNS, SAMPLE_COLUMNS

MINUTE = 60

_MINUTE_SQL = (
    "INSERT INTO rollup_minutes VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (minute) DO UPDATE SET "
    "ticks = ticks + excluded.ticks, ts_sum = ts_sum + excluded.ts_sum, "
    "first_ts = min(first_ts, excluded.first_ts), last_ts = max(last_ts, excluded.last_ts), "
    "decisions = decisions + excluded.decisions"
)
_STAT_SQL = (
    "INSERT INTO rollups VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (minute, metric) DO UPDATE SET "
    "n = n + excluded.n, total = total + excluded.total, lo = min(lo, excluded.lo), hi = max(hi, excluded.hi)"
)

_THIN_SQL = (
    f"INSERT INTO thin_groups (minute, seq, gkey, ts, {', '.join(OBSERVATION_COLUMNS)}) "
    f"SELECT ?, seq, gkey, ts, {', '.join(OBSERVATION_COLUMNS)} FROM app_groups WHERE tick = ?"
)


@dataclass(slots=True)
class Stat:
    """One metric over one minute."""

    n: int
    total: float
    lo: float
    hi: float

    @property
    def mean(self) -> float:
        return self.total / self.n

    def add(self, value: float) -> None:
        self.n += 1
        self.total += value
        self.lo = min(self.lo, value)
        self.hi = max(self.hi, value)


@dataclass(slots=True)
class Minute:
    """One rolled-up minute: its ticks, and a Stat per metric that had a value in it."""

    minute: int  # start time / MINUTE
    ticks: int = 0
    ts_sum: float = 0.0
    first_ts: float = math.inf
    last_ts: float = -math.inf
    decisions: int = 0
    stats: dict[str, Stat] = field(default_factory=dict)

    @property
    def time(self) -> float:
        """The mean time of its ticks (where a chart puts the minute)."""
        return self.ts_sum / self.ticks if self.ticks else self.minute * MINUTE

    def add(self, sample: dict[str, float]) -> None:
        ts = sample["time"]
        self.ticks += 1
        self.ts_sum += ts
        self.first_ts, self.last_ts = min(self.first_ts, ts), max(self.last_ts, ts)
        for name, value in sample.items():
            if name == "time" or math.isnan(value):
                continue
            stat = self.stats.get(name)
            if stat is None:
                self.stats[name] = Stat(1, value, value, value)
            else:
                stat.add(value)


def minute_of(ts: float) -> int:
    return math.floor(ts / MINUTE)


def fold(conn: sqlite3.Connection) -> int:
    """Fold the samples of the ticks in the temp table `doomed` into the rollups; return their minutes.

    Runs inside the caller's transaction, the one that then deletes those ticks, so a crash
    leaves each tick either raw or rolled up, never neither or both.
    """
    minutes: dict[int, Minute] = {}
    sql = (
        f"SELECT ts, {', '.join(SAMPLE_COLUMNS)}, extra FROM samples "
        "WHERE tick IN (SELECT tick FROM doomed) ORDER BY ts, tick"
    )
    for row in conn.execute(sql):
        sample = rows.sample_dict(row)
        m = minute_of(sample["time"])
        minutes.setdefault(m, Minute(m)).add(sample)
    decided = conn.execute(
        "SELECT s.ts, count(*) FROM decisions d JOIN samples s ON s.tick = d.tick "
        "WHERE d.tick IN (SELECT tick FROM doomed) GROUP BY d.tick"
    )
    for ts, count in decided:
        minutes[minute_of(ts)].decisions += int(count)
    if not minutes:
        return 0
    ids = metric_ids(conn, {n for m in minutes.values() for n in m.stats})
    conn.executemany(
        _MINUTE_SQL,
        [(m.minute, m.ticks, m.ts_sum, m.first_ts, m.last_ts, m.decisions) for m in minutes.values()],
    )
    conn.executemany(
        _STAT_SQL,
        [
            (m.minute, ids[name], s.n, s.total, s.lo, s.hi)
            for m in minutes.values()
            for name, s in m.stats.items()
        ],
    )
    return len(minutes)


def thin(conn: sqlite3.Connection) -> int:
    """Keep the group rows of the first detail tick of each minute among the ticks in `doomed`.

    Runs in the caller's transaction before the ticks are deleted: the kept rows are copied into
    thin_groups in the same commit that deletes them from app_groups. A minute that already has
    thinned rows (a late tick, the clock set back) keeps those. Returns the minutes kept.
    """
    first: dict[int, tuple[int, float]] = {}
    candidates = conn.execute(
        "SELECT s.tick, s.ts FROM samples s WHERE s.tick IN (SELECT tick FROM doomed) "
        "AND EXISTS (SELECT 1 FROM app_groups a WHERE a.tick = s.tick) ORDER BY s.ts, s.tick"
    )
    for tick, ts in candidates:
        first.setdefault(minute_of(ts), (int(tick), float(ts)))
    if not first:
        return 0
    taken = {
        int(m)
        for (m,) in conn.execute(
            "SELECT minute FROM thin_minutes WHERE minute >= ? AND minute <= ?", (min(first), max(first))
        )
    }
    kept = [(m, tick, ts) for m, (tick, ts) in sorted(first.items()) if m not in taken]
    conn.executemany("INSERT INTO thin_minutes VALUES (?, ?)", [(m, ts) for m, _, ts in kept])
    conn.executemany(_THIN_SQL, [(m, tick) for m, tick, _ in kept])
    return len(kept)


def metric_ids(conn: sqlite3.Connection, names: Iterable[str]) -> dict[str, int]:
    wanted = sorted(set(names))
    conn.executemany("INSERT OR IGNORE INTO metric_names (name) VALUES (?)", [(n,) for n in wanted])
    return {n: i for n, i in conn.execute("SELECT name, id FROM metric_names") if n in wanted}


def delete_minutes_before(conn: sqlite3.Connection, cutoff: float) -> int:
    """Drop the minutes that ended by `cutoff`: rollups and thinned group rows (in the caller's
    transaction)."""
    last = math.floor(cutoff / MINUTE) - 1  # the last minute whose end is <= cutoff
    conn.execute("DELETE FROM rollups WHERE minute <= ?", (last,))
    conn.execute("DELETE FROM thin_groups WHERE minute <= ?", (last,))
    conn.execute("DELETE FROM thin_minutes WHERE minute <= ?", (last,))
    return int(conn.execute("DELETE FROM rollup_minutes WHERE minute <= ?", (last,)).rowcount)


def read(conn: sqlite3.Connection, first: int, end: int, names: Sequence[str] | None = None) -> list[Minute]:
    """Minutes first <= minute < end, oldest first, with the Stats of `names` (None: every metric)."""
    out = {
        int(r[0]): Minute(int(r[0]), int(r[1]), float(r[2]), float(r[3]), float(r[4]), int(r[5]))
        for r in conn.execute(
            "SELECT minute, ticks, ts_sum, first_ts, last_ts, decisions FROM rollup_minutes "
            "WHERE minute >= ? AND minute < ? ORDER BY minute",
            (first, end),
        )
    }
    if not out:
        return []
    sql = (
        "SELECT r.minute, m.name, r.n, r.total, r.lo, r.hi FROM rollups r "
        "JOIN metric_names m ON m.id = r.metric WHERE r.minute >= ? AND r.minute < ?"
    )
    params: list[object] = [first, end]
    if names is not None:
        sql += f" AND m.name IN ({', '.join('?' * len(names))})"
        params += list(names)
    for minute, name, n, total, lo, hi in conn.execute(sql, params):
        if minute in out:
            out[minute].stats[name] = Stat(int(n), math.nan if total is None else total, lo, hi)
    return [out[k] for k in sorted(out)]
