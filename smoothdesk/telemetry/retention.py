"""Retention for the snapshot log: drop the oldest ticks by age, then by size, and shrink the file."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from smoothdesk.telemetry.schema import TICK_TABLES

# Pruning for size aims below the limit so that the next few ticks do not trigger it again.
SIZE_TARGET = 0.8
MAX_ROUNDS = 30


@dataclass(frozen=True, slots=True)
class RetentionResult:
    """What one retention pass did; sizes are page_count * page_size after a checkpoint."""

    deleted_ticks: int
    deleted_focus_events: int
    bytes_before: int
    bytes_after: int
    age_cutoff: float
    size_cutoff: float | None  # None when the size limit needed no pruning

    @property
    def deleted_anything(self) -> bool:
        return bool(self.deleted_ticks or self.deleted_focus_events)


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


def delete_before(conn: sqlite3.Connection, cutoff: float) -> tuple[int, int]:
    """Delete ticks (and their rows in every table) and focus events older than `cutoff`.

    Rows are chosen by the tick's own id set, not by a tick-id range: the wall clock may have
    jumped back, so ids and times need not be ordered alike.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS doomed (tick INTEGER PRIMARY KEY)")
        conn.execute("DELETE FROM doomed")
        conn.execute("INSERT INTO doomed SELECT tick FROM samples WHERE ts < ?", (cutoff,))
        ticks = int(conn.execute("SELECT count(*) FROM doomed").fetchone()[0])
        if ticks:
            for table in TICK_TABLES:
                conn.execute(f"DELETE FROM {table} WHERE tick IN (SELECT tick FROM doomed)")
            conn.execute(
                "DELETE FROM process_info WHERE (pid, start_time) NOT IN "
                "(SELECT pid, start_time FROM processes)"
            )
            conn.execute(
                "DELETE FROM groups WHERE gkey NOT IN (SELECT gkey FROM app_groups) "
                "AND gkey NOT IN (SELECT gkey FROM processes WHERE gkey IS NOT NULL)"
            )
        focus = conn.execute("DELETE FROM focus_events WHERE ts < ?", (cutoff,)).rowcount
        conn.execute("DELETE FROM doomed")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return ticks, int(focus)


def enforce(conn: sqlite3.Connection, now: float, max_age_s: float, max_bytes: int) -> RetentionResult:
    """Drop what is older than max_age_s, then the oldest ticks until the file fits max_bytes.

    The newest tick is always kept, even if it alone were larger than max_bytes.
    """
    before = db_bytes(conn)
    age_cutoff = now - max_age_s
    ticks, focus = delete_before(conn, age_cutoff)
    size = shrink(conn) if ticks or focus else before
    size_cutoff: float | None = None
    for _ in range(MAX_ROUNDS):
        if size <= max_bytes:
            break
        first, last = conn.execute("SELECT min(ts), max(ts) FROM samples").fetchone()
        if first is None or first >= last:
            break
        # Ticks are about evenly sized, so cut the oldest share of the time span that should
        # bring the file to SIZE_TARGET of the limit (at least 2%, so every round makes progress).
        share = min(0.95, max(0.02, 1.0 - SIZE_TARGET * max_bytes / size))
        size_cutoff = first + share * (last - first)
        more_ticks, more_focus = delete_before(conn, size_cutoff)
        ticks, focus = ticks + more_ticks, focus + more_focus
        size = shrink(conn)
    return RetentionResult(ticks, focus, before, size, age_cutoff, size_cutoff)
