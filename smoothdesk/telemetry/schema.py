"""The snapshot log's tables, and the migrations that build and upgrade them (PRAGMA user_version)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from smoothdesk.core.errors import SmoothDeskError


class StoreError(SmoothDeskError):
    """The telemetry package's error base: the snapshot log cannot be used; the message names the file."""


# Per-tick metrics with a column of their own (helper/history.py keys); any other numeric key
# goes to the JSON column `extra`.
SAMPLE_COLUMNS: tuple[str, ...] = (
    "cpu_busy",
    "psi_cpu_some",
    "psi_io_some",
    "psi_memory_some",
    "mem_available",
    "demoted",
    "tick_cost_ms",
)

# GroupObservation fields stored per row in app_groups (ts, group_id, name, kind and uid live in
# `samples` and `groups`, so each row repeats none of those strings).
OBSERVATION_COLUMNS: tuple[str, ...] = (
    "klass",
    "rule_type",
    "n_procs",
    "n_threads",
    "cpu_tick",
    "cpu_10s",
    "rss_bytes",
    "io_read_rate",
    "io_write_rate",
    "age_s",
    "has_tty",
    "focused",
    "audio",
    "seconds_since_focus",
    "seconds_since_audio",
    "focus_count_1h",
)

# One group's row, as app_groups keeps it per detail tick and thin_groups per rolled-up minute.
GROUP_ROW_COLUMNS = (
    "klass TEXT NOT NULL, rule_type TEXT NOT NULL, n_procs INTEGER, n_threads INTEGER, "
    "cpu_tick REAL, cpu_10s REAL, rss_bytes INTEGER, io_read_rate REAL, io_write_rate REAL, "
    "age_s REAL, has_tty INTEGER, focused INTEGER, audio INTEGER, seconds_since_focus REAL, "
    "seconds_since_audio REAL, focus_count_1h INTEGER"
)

# Version 1: samples, groups, app_groups, processes with their static facts split out, focus
# events. Rows hang off samples.tick (a small integer), and the per-tick tables are WITHOUT ROWID
# tables clustered by (tick, seq): they need no index of their own and keep the write order.
V1: tuple[str, ...] = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    f"""CREATE TABLE samples (
        tick INTEGER PRIMARY KEY, ts REAL NOT NULL,
        {", ".join(f"{c} REAL" for c in SAMPLE_COLUMNS)}, extra TEXT)""",
    "CREATE INDEX samples_ts ON samples (ts)",
    """CREATE TABLE groups (
        gkey INTEGER PRIMARY KEY, group_id TEXT NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL,
        uid INTEGER NOT NULL, UNIQUE (group_id, name, kind, uid))""",
    f"""CREATE TABLE app_groups (
        tick INTEGER NOT NULL, seq INTEGER NOT NULL, gkey INTEGER NOT NULL, ts REAL,
        {GROUP_ROW_COLUMNS},
        PRIMARY KEY (tick, seq)) WITHOUT ROWID""",
    """CREATE TABLE process_info (
        pid INTEGER NOT NULL, start_time INTEGER NOT NULL, first_tick INTEGER NOT NULL,
        uid INTEGER, comm TEXT, exe TEXT, cmdline TEXT, PRIMARY KEY (pid, start_time))""",
    """CREATE TABLE processes (
        tick INTEGER NOT NULL, seq INTEGER NOT NULL, pid INTEGER NOT NULL, start_time INTEGER NOT NULL,
        cpu REAL, cpu_10s REAL, rss INTEGER, io_read REAL, io_write REAL, nice INTEGER,
        policy INTEGER, ioprio INTEGER, threads INTEGER, state TEXT,
        PRIMARY KEY (tick, seq)) WITHOUT ROWID""",
    """CREATE TABLE focus_events (
        id INTEGER PRIMARY KEY, ts REAL NOT NULL, group_id TEXT NOT NULL, pid INTEGER NOT NULL,
        kind TEXT NOT NULL)""",
    "CREATE INDEX focus_events_ts ON focus_events (ts)",
)

# Version 2: the decision log (a row only when a group's class or reason changes) and, per
# process row, the group it belonged to and that group's class.
V2: tuple[str, ...] = (
    """CREATE TABLE decisions (
        id INTEGER PRIMARY KEY, tick INTEGER NOT NULL, group_id TEXT NOT NULL, klass TEXT NOT NULL,
        reason TEXT NOT NULL)""",
    "CREATE INDEX decisions_tick ON decisions (tick)",
    "ALTER TABLE processes ADD COLUMN gkey INTEGER",
    "ALTER TABLE processes ADD COLUMN klass TEXT",
)

# Version 3: per-minute rollups of the samples (rollup.py), written as raw ticks age out after
# store.raw_hours: per minute its ticks, their summed times and decision changes; per minute and
# metric the count, sum, minimum and maximum of the metric's values (NaN skipped). Metric names
# are numbered once in metric_names so a rollup row repeats no string.
V3: tuple[str, ...] = (
    "CREATE TABLE metric_names (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)",
    """CREATE TABLE rollup_minutes (
        minute INTEGER PRIMARY KEY, ticks INTEGER NOT NULL, ts_sum REAL NOT NULL, first_ts REAL NOT NULL,
        last_ts REAL NOT NULL, decisions INTEGER NOT NULL)""",
    """CREATE TABLE rollups (
        minute INTEGER NOT NULL, metric INTEGER NOT NULL, n INTEGER NOT NULL, total REAL, lo REAL, hi REAL,
        PRIMARY KEY (minute, metric)) WITHOUT ROWID""",
)

# Version 4: thinned group rows (rollup.thin). As raw ticks roll up, the app_groups rows of one
# detail tick per minute move here, keyed by that minute, and stay until max_age_days: the trainer
# and the reports read them beyond store.raw_hours. thin_minutes holds the kept tick's time; a
# row's own ts is stored only when it differs (as in app_groups).
V4: tuple[str, ...] = (
    "CREATE TABLE thin_minutes (minute INTEGER PRIMARY KEY, ts REAL NOT NULL)",
    f"""CREATE TABLE thin_groups (
        minute INTEGER NOT NULL, seq INTEGER NOT NULL, gkey INTEGER NOT NULL, ts REAL,
        {GROUP_ROW_COLUMNS},
        PRIMARY KEY (minute, seq)) WITHOUT ROWID""",
)

# MIGRATIONS[i] takes a database from version i to i + 1; a new database runs them all.
MIGRATIONS: tuple[tuple[str, ...], ...] = (V1, V2, V3, V4)
SCHEMA_VERSION = len(MIGRATIONS)

# Tables rows are pruned from by tick (oldest first); focus_events are pruned by ts.
TICK_TABLES: tuple[str, ...] = ("app_groups", "processes", "decisions", "samples")


def user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, steps: Sequence[tuple[str, ...]] = MIGRATIONS) -> int:
    """Run the missing steps, each in its own transaction with its version bump; return the version.

    `conn` must be in autocommit mode (isolation_level=None). A brand-new database gets
    auto_vacuum=INCREMENTAL first: it can only be chosen before the first table exists, and
    without it deleting rows never gives space back to the file system.
    """
    version = user_version(conn)
    if version == 0 and conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0:
        conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
    for target in range(version + 1, len(steps) + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in steps[target - 1]:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {target}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return user_version(conn)
