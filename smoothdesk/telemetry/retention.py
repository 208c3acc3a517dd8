"""Retention for the snapshot log: roll up raw ticks past raw_s, drop what is past max age, fit the size.

Order of sacrifice when the file is over max_bytes: raw ticks are rolled up first (a minute of
rollups and thinned group rows is ~5% of its raw ticks, and SLO budgets and reports still see
every minute), then the oldest rolled-up minutes go with their thinned group rows and focus events.
"""

from __future__ import annotations

import math
import sqlite3
from dataclasses import dataclass

from smoothdesk.telemetry import rollup
from smoothdesk.telemetry.schema import TICK_TABLES

# Pruning for size aims below the limit so that the next few ticks do not trigger it again.
SIZE_TARGET = 0.8
MAX_ROUNDS = 30


@dataclass(frozen=True, slots=True)
class RetentionResult:
    """What one retention pass did; sizes are page_count * page_size after a checkpoint."""

    deleted_ticks: int  # raw ticks gone from the raw tables, rolled up or not
    deleted_focus_events: int
    bytes_before: int
    bytes_after: int
    age_cutoff: float
    size_cutoff: float | None  # None when the size limit needed no pruning
    rolled_up_minutes: int = 0  # minutes that raw ticks were folded into
    deleted_minutes: int = 0  # rolled-up minutes dropped (by age or size)
    raw_cutoff: float | None = None  # raw ticks before this were rolled up; None: no rollups

    @property
    def deleted_anything(self) -> bool:
        return bool(self.deleted_ticks or self.deleted_focus_events or self.deleted_minutes)


def db_bytes(conn: sqlite3.Connection) -> int:
    """Size of the main file once the WAL is checkpointed into it (and the WAL truncated)."""
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    return int(pages) * int(conn.execute("PRAGMA page_size").fetchone()[0])


def shrink(conn: sqlite3.Connection) -> int:
    """Give free pages back to the file system (auto_vacuum=INCREMENTAL); return the new size."""
    # execute() steps the pragma only once, freeing a single page; executescript runs it to the end.
    conn.executescript("PRAGMA incremental_vacuum;")
    return db_bytes(conn)


def delete_before(conn: sqlite3.Connection, cutoff: float, *, roll_up: bool = False) -> tuple[int, int, int]:
    """Delete ticks (and their rows in every table) older than `cutoff`; (ticks, focus events, minutes):
    the minutes folded into when rolling up, else the rolled-up minutes dropped.

    roll_up: fold the ticks into per-minute rollups and keep one detail tick's group rows per
    minute (rollup.thin) first, in the same transaction, and keep the focus events (the labels of
    the thinned rows need them) and older minutes; otherwise rolled-up minutes, their thinned
    group rows and focus events before `cutoff` go too. Rows are chosen by the tick's own id set,
    not by a tick-id range: the wall clock may have jumped back, so ids and times need not be
    ordered alike.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS doomed (tick INTEGER PRIMARY KEY)")
        conn.execute("DELETE FROM doomed")
        conn.execute("INSERT INTO doomed SELECT tick FROM samples WHERE ts < ?", (cutoff,))
        ticks = int(conn.execute("SELECT count(*) FROM doomed").fetchone()[0])
        minutes = rollup.fold(conn) if ticks and roll_up else 0
        if ticks and roll_up:
            rollup.thin(conn)
        if ticks:
            for table in TICK_TABLES:
                conn.execute(f"DELETE FROM {table} WHERE tick IN (SELECT tick FROM doomed)")
            conn.execute(
                "DELETE FROM process_info WHERE (pid, start_time) NOT IN "
                "(SELECT pid, start_time FROM processes)"
            )
            conn.execute(
                "DELETE FROM groups WHERE gkey NOT IN (SELECT gkey FROM app_groups) "
                "AND gkey NOT IN (SELECT gkey FROM thin_groups) "
                "AND gkey NOT IN (SELECT gkey FROM processes WHERE gkey IS NOT NULL)"
            )
        focus = 0
        if not roll_up:
            focus = conn.execute("DELETE FROM focus_events WHERE ts < ?", (cutoff,)).rowcount
            minutes = rollup.delete_minutes_before(conn, cutoff)
        conn.execute("DELETE FROM doomed")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return ticks, int(focus), minutes


def _raw_span(conn: sqlite3.Connection) -> tuple[float | None, float | None]:
    first, last = conn.execute("SELECT min(ts), max(ts) FROM samples").fetchone()
    return first, last


def _size_cutoff(
    conn: sqlite3.Connection, size: int, max_bytes: int, rolls_up: bool
) -> tuple[float, bool] | None:
    """Where the next size round cuts, and whether it rolls raw ticks up (else it drops minutes)."""
    # Ticks and minutes are about evenly sized, so cut the oldest share of the span that should
    # bring the file to SIZE_TARGET of the limit (at least 2%, so every round makes progress).
    share = min(0.95, max(0.02, 1.0 - SIZE_TARGET * max_bytes / size))
    first, last = _raw_span(conn)
    if rolls_up and first is not None and last is not None:
        # Whole minutes only, and never the newest tick's minute.
        cutoff = rollup.minute_of(first + share * (last - first)) * rollup.MINUTE
        cutoff = min(
            max(cutoff, (rollup.minute_of(first) + 1) * rollup.MINUTE), rollup.minute_of(last) * rollup.MINUTE
        )
        if cutoff > first:
            return cutoff, True
    lo, hi = conn.execute("SELECT min(minute), max(minute) FROM rollup_minutes").fetchone()
    if lo is not None:
        # Whole minutes, at least one.
        return float((lo + max(1, math.floor(share * (hi + 1 - lo)))) * rollup.MINUTE), False
    if first is None or last is None or first >= last:
        return None  # the newest tick is always kept, even if it alone were larger than max_bytes
    return first + share * (last - first), False


def enforce(
    conn: sqlite3.Connection, now: float, max_age_s: float, max_bytes: int, raw_s: float | None = None
) -> RetentionResult:
    """Drop what is older than max_age_s, roll up raw ticks older than raw_s (whole minutes; None: no
    rollups), then roll up or drop the oldest until the file fits max_bytes."""
    before = db_bytes(conn)
    age_cutoff = now - max_age_s
    ticks, focus, dropped = delete_before(conn, age_cutoff)
    rolled = 0
    raw_cutoff: float | None = None
    if raw_s is not None and raw_s < max_age_s:
        raw_cutoff = rollup.minute_of(now - raw_s) * float(rollup.MINUTE)
        more, _, rolled = delete_before(conn, raw_cutoff, roll_up=True)
        ticks += more
    size = shrink(conn) if ticks or focus or dropped else before
    size_cutoff: float | None = None
    for _ in range(MAX_ROUNDS):
        if size <= max_bytes:
            break
        cut = _size_cutoff(conn, size, max_bytes, raw_s is not None)
        if cut is None:
            break
        size_cutoff, roll_up = cut
        more_ticks, more_focus, minutes = delete_before(conn, size_cutoff, roll_up=roll_up)
        ticks, focus = ticks + more_ticks, focus + more_focus
        rolled, dropped = (rolled + minutes, dropped) if roll_up else (rolled, dropped + minutes)
        size = shrink(conn)
    return RetentionResult(ticks, focus, before, size, age_cutoff, size_cutoff, rolled, dropped, raw_cutoff)
