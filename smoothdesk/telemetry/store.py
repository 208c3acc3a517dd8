"""The snapshot log: per-tick metrics, processes, app groups, decisions and focus events in SQLite."""

from __future__ import annotations

import contextlib
import math
import secrets
import sqlite3
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from smoothdesk.core.observation import GroupObservation
from smoothdesk.core.process import ProcessRecord
from smoothdesk.telemetry import retention, rollup, rows
from smoothdesk.telemetry.recovery import open_or_replace
from smoothdesk.telemetry.retention import RetentionResult
from smoothdesk.telemetry.schema import OBSERVATION_COLUMNS, SAMPLE_COLUMNS, StoreError

__all__ = ["RetentionResult", "SnapshotStore", "StoreError"]

PROCESSES_PER_TICK = 20
RAW_S = 48 * 3600.0  # config store.raw_hours
MAX_BYTES = 320 * 2**20  # config store.max_mb
_KNOWN_PROCS_LIMIT = 50_000

_SAMPLE_SQL = (
    f"INSERT INTO samples (ts, {', '.join(SAMPLE_COLUMNS)}, extra) "
    f"VALUES (?, {', '.join('?' * len(SAMPLE_COLUMNS))}, ?)"
)
_OBS_SQL = (
    f"INSERT INTO app_groups (tick, seq, gkey, ts, {', '.join(OBSERVATION_COLUMNS)}) "
    f"VALUES ({', '.join('?' * (4 + len(OBSERVATION_COLUMNS)))})"
)
_PROC_SQL = "INSERT INTO processes VALUES (" + ", ".join("?" * 16) + ")"
_INFO_SQL = "INSERT OR IGNORE INTO process_info VALUES (?, ?, ?, ?, ?, ?, ?)"
_OBS_SELECT = (
    "SELECT s.ts, a.ts, g.group_id, g.name, g.kind, g.uid, "
    f"{', '.join('a.' + c for c in OBSERVATION_COLUMNS)} "
    "FROM samples s JOIN app_groups a ON a.tick = s.tick JOIN groups g ON g.gkey = a.gkey "
    "WHERE s.ts >= ? AND s.ts <= ? ORDER BY a.tick, a.seq"
)
_THIN_SELECT = (
    "SELECT t.ts, a.ts, g.group_id, g.name, g.kind, g.uid, "
    f"{', '.join('a.' + c for c in OBSERVATION_COLUMNS)} "
    "FROM thin_minutes t JOIN thin_groups a ON a.minute = t.minute JOIN groups g ON g.gkey = a.gkey "
    "WHERE t.minute >= ? AND t.minute <= ? AND t.ts >= ? AND t.ts <= ? ORDER BY a.minute, a.seq"
)


class SnapshotStore:
    """One SQLite file in WAL mode, one transaction per tick; safe to share between threads.

    Decisions are logged only when a group's (class, reason) differs from the last one logged
    for it by this store object, so a steady desktop adds almost no decision rows; the first
    tick after opening logs every group's current decision.
    """

    def __init__(
        self,
        path: Path,
        conn: sqlite3.Connection,
        problems: list[str],
        *,
        hash_cmdlines: bool,
        max_age_s: float,
        max_bytes: int,
        processes_per_tick: int,
        raw_s: float | None = RAW_S,
    ) -> None:
        self.path = path
        self.raw_s = raw_s
        self.problems = problems
        self.hash_cmdlines = hash_cmdlines
        self.max_age_s = max_age_s
        self.max_bytes = max_bytes
        self.processes_per_tick = processes_per_tick
        self._conn = conn
        self._lock = threading.Lock()
        self._gkeys: dict[rows.GroupKey, int] = {}
        self._known_procs: set[tuple[int, int]] = set()
        self._last_decision: dict[str, tuple[str, str]] = {}
        self._salt = self._load_salt() if hash_cmdlines else None

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        hash_cmdlines: bool = False,
        max_age_s: float = 7 * 86400,
        max_bytes: int = MAX_BYTES,
        processes_per_tick: int = PROCESSES_PER_TICK,
        lock_timeout: float = 10.0,
        raw_s: float | None = RAW_S,
    ) -> SnapshotStore:
        """Open (creating or migrating) the log; a corrupt or locked file is moved aside, see problems.

        Raw ticks older than `raw_s` are rolled up into per-minute rollups by enforce_retention
        (None: never; they are then dropped at max_age_s like the rollups).
        """
        conn, problems = open_or_replace(Path(path), lock_timeout)
        return cls(
            Path(path),
            conn,
            problems,
            hash_cmdlines=hash_cmdlines,
            max_age_s=max_age_s,
            max_bytes=max_bytes,
            processes_per_tick=processes_per_tick,
            raw_s=raw_s,
        )

    def _load_salt(self) -> bytes:
        """The per-database salt for hashed command lines, made once and kept in `meta`."""
        self._conn.execute("INSERT OR IGNORE INTO meta VALUES ('cmdline_salt', ?)", (secrets.token_hex(16),))
        return bytes.fromhex(
            self._conn.execute("SELECT value FROM meta WHERE key = 'cmdline_salt'").fetchone()[0]
        )

    def write_tick(  # noqa: PLR0917 - the snapshot log API takes a tick positionally
        self,
        ts: float,
        sample: Mapping[str, float | int],
        processes: Sequence[ProcessRecord],
        observations: Sequence[GroupObservation],
        decisions: Sequence[tuple[str, str, str]],
        pid_groups: Mapping[int, str] | None = None,
    ) -> int:
        """Write one tick in one transaction and return its tick id.

        `pid_groups` (pid -> group_id) lets each stored process carry its group and class;
        without it processes are chosen by CPU alone.
        """
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN")
            try:
                tick = self._insert_tick(
                    conn,
                    ts=ts,
                    sample=sample,
                    processes=processes,
                    observations=observations,
                    decisions=decisions,
                    pid_groups=pid_groups or {},
                )
                conn.execute("COMMIT")
            except BaseException as exc:
                conn.execute("ROLLBACK")
                self._gkeys.clear()
                self._known_procs.clear()
                if isinstance(exc, sqlite3.Error | ValueError):
                    raise StoreError(f"{self.path}: cannot write tick at {ts}: {exc}") from exc
                raise
            for group_id, klass, reason in decisions:
                self._last_decision[group_id] = (klass, reason)
            return tick

    def _insert_tick(
        self,
        conn: sqlite3.Connection,
        *,
        ts: float,
        sample: Mapping[str, float | int],
        processes: Sequence[ProcessRecord],
        observations: Sequence[GroupObservation],
        decisions: Sequence[tuple[str, str, str]],
        pid_groups: Mapping[int, str],
    ) -> int:
        tick = conn.execute(_SAMPLE_SQL, rows.sample_row(ts, sample)).lastrowid
        assert tick is not None
        by_group: dict[str, tuple[int, str]] = {}
        obs_rows = []
        for seq, obs in enumerate(observations):
            gkey = self._gkey(conn, rows.group_key(obs))
            by_group[obs.group_id] = (gkey, obs.klass)
            obs_rows.append(rows.observation_row(tick, seq, gkey, ts, obs))
        conn.executemany(_OBS_SQL, obs_rows)
        classes = {pid: by_group[g][1] for pid, g in pid_groups.items() if g in by_group}
        kept = rows.pick_processes(processes, classes, self.processes_per_tick)
        new_procs = [p for p in kept if (p.pid, p.start_time) not in self._known_procs]
        conn.executemany(
            _INFO_SQL,
            [
                (p.pid, p.start_time, tick, p.uid, p.comm, p.exe, rows.cmdline_text(p.cmdline, self._salt))
                for p in new_procs
            ],
        )
        proc_rows = []
        for seq, p in enumerate(kept):
            group = by_group.get(pid_groups.get(p.pid, ""))
            proc_rows.append(rows.process_row(tick, seq, p, *(group or (None, None))))
        conn.executemany(_PROC_SQL, proc_rows)
        changed = [(tick, *d) for d in decisions if self._last_decision.get(d[0]) != (d[1], d[2])]
        conn.executemany("INSERT INTO decisions (tick, group_id, klass, reason) VALUES (?, ?, ?, ?)", changed)
        if len(self._known_procs) > _KNOWN_PROCS_LIMIT:
            self._known_procs.clear()  # INSERT OR IGNORE keeps this correct; the set only saves work
        self._known_procs.update((p.pid, p.start_time) for p in new_procs)
        return int(tick)

    def _gkey(self, conn: sqlite3.Connection, key: rows.GroupKey) -> int:
        gkey = self._gkeys.get(key)
        if gkey is None:
            conn.execute("INSERT OR IGNORE INTO groups (group_id, name, kind, uid) VALUES (?, ?, ?, ?)", key)
            sql = "SELECT gkey FROM groups WHERE group_id = ? AND name = ? AND kind = ? AND uid = ?"
            gkey = int(conn.execute(sql, key).fetchone()[0])
            self._gkeys[key] = gkey
        return gkey

    def write_focus(self, ts: float, group_id: str, pid: int, kind: str) -> None:
        """kind: "focus" (focus moved to this group), "input" or "audio"."""
        with self._lock:
            self._conn.execute(
                "INSERT INTO focus_events (ts, group_id, pid, kind) VALUES (?, ?, ?, ?)",
                (ts, group_id, pid, kind),
            )

    def _select(self, sql: str, since: float, until: float | None) -> list[Any]:
        with self._lock:
            return self._conn.execute(sql, (since, float("inf") if until is None else until)).fetchall()

    def observations(
        self, since: float, until: float | None = None, *, thinned: bool = True
    ) -> list[GroupObservation]:
        """Group rows of the ticks in [since, until], equal to what was written: first the thinned
        rows of ticks rolled up (one detail tick per minute, by minute), then the raw ticks' in
        write order. thinned=False: the raw ticks' only."""
        end = math.inf if until is None else until
        first = rollup.minute_of(since) if math.isfinite(since) else -(2**62)
        last = rollup.minute_of(end) if math.isfinite(end) else 2**62
        with self._lock:
            # One read transaction: a rollup pass by the helper between the two reads would
            # otherwise move rows out of one and into the other unseen.
            self._conn.execute("BEGIN")
            try:
                found: list[Any] = []
                if thinned:
                    found = self._conn.execute(_THIN_SELECT, (first, last, since, end)).fetchall()
                found += self._conn.execute(_OBS_SELECT, (since, end)).fetchall()
            finally:
                self._conn.execute("COMMIT")
        return [rows.observation_from_row(r) for r in found]

    def focus_events(self, since: float, until: float | None = None) -> list[tuple[float, str, int, str]]:
        sql = "SELECT ts, group_id, pid, kind FROM focus_events WHERE ts >= ? AND ts <= ? ORDER BY ts, id"
        return [(float(r[0]), str(r[1]), int(r[2]), str(r[3])) for r in self._select(sql, since, until)]

    def samples(self, since: float, until: float | None = None) -> list[dict[str, float]]:
        """One dict per tick, oldest first: "time" plus every metric that was written for it."""
        sql = (
            f"SELECT ts, {', '.join(SAMPLE_COLUMNS)}, extra FROM samples "
            "WHERE ts >= ? AND ts <= ? ORDER BY ts"
        )
        return [rows.sample_dict(r) for r in self._select(sql, since, until)]

    def decisions(self, since: float, until: float | None = None) -> list[tuple[float, str, str, str]]:
        """Logged decision changes: (ts, group_id, class, reason)."""
        sql = (
            "SELECT s.ts, d.group_id, d.klass, d.reason FROM decisions d JOIN samples s ON s.tick = d.tick "
            "WHERE s.ts >= ? AND s.ts <= ? ORDER BY d.id"
        )
        return [(float(r[0]), str(r[1]), str(r[2]), str(r[3])) for r in self._select(sql, since, until)]

    def processes(self, since: float, until: float | None = None) -> list[dict[str, Any]]:
        """Stored process rows with their static facts (comm, exe, cmdline or its hash)."""
        sql = (
            "SELECT s.ts, p.*, i.uid, i.comm, i.exe, i.cmdline FROM samples s "
            "JOIN processes p ON p.tick = s.tick JOIN process_info i USING (pid, start_time) "
            "WHERE s.ts >= ? AND s.ts <= ? ORDER BY p.tick, p.seq"
        )
        with self._lock:
            cur = self._conn.execute(sql, (since, float("inf") if until is None else until))
            names = ["ts", *(d[0] for d in cur.description[1:])]
            return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    def minutes(self, since: float, until: float | None = None) -> list[rollup.Minute]:
        """Rolled-up minutes that start in [since, until), oldest first (every metric)."""
        first = math.ceil(since / rollup.MINUTE)
        end = math.inf if until is None else math.ceil(until / rollup.MINUTE)
        with self._lock:
            return rollup.read(self._conn, first, int(min(end, 2**62)))

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """A read-only query under the store's lock (for reports)."""
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def enforce_retention(self, now: float | None = None) -> RetentionResult:
        """Roll up raw ticks older than raw_s, drop what is older than max_age_s, then fit max_bytes."""
        with self._lock:
            result = retention.enforce(
                self._conn, time.time() if now is None else now, self.max_age_s, self.max_bytes, self.raw_s
            )
            if result.deleted_anything:  # deleted groups/process_info rows may be cached
                self._gkeys.clear()
                self._known_procs.clear()
            return result

    def close(self) -> None:
        with self._lock:
            # Fails when another reader holds the WAL; SQLite checkpoints on the next open then.
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            self._conn.close()
