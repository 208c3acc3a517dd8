"""Thinned group rows on real log files: one detail tick per minute outlives the raw ticks until max age."""

from __future__ import annotations

import math
import random
import sqlite3
from collections import Counter
from dataclasses import replace
from pathlib import Path

from store_data import observation, tick

from smoothdesk.telemetry import rollup
from smoothdesk.telemetry.schema import MIGRATIONS, SCHEMA_VERSION, migrate
from smoothdesk.telemetry.store import SnapshotStore

START = 1_700_000_000.0 - 1_700_000_000.0 % 3600  # a whole hour
HOUR = 3600.0


def fill(store: SnapshotStore, start: float, seconds: int, detail_every: int = 10, seed: int = 1) -> None:
    """A tick a second; groups and processes every `detail_every` ticks (as the helper logs them)."""
    rng = random.Random(seed)
    for t in range(seconds):
        args = tick(start + t, rng)
        if t % detail_every:
            args = (args[0], args[1], [], [], args[4])
        store.write_tick(*args)


def count(path: Path, sql: str) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


def test_rolled_up_ticks_keep_one_detail_tick_per_minute(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite"
    store = SnapshotStore.open(path, raw_s=HOUR, max_age_s=7 * 86400)
    fill(store, START + 5, 3 * 3600 - 5)  # detail ticks at :05, :15, ... of every minute
    written = store.observations(0)
    result = store.enforce_retention(now=START + 3 * HOUR)
    kept = store.observations(0)
    raw_only = store.observations(0, thinned=False)
    processes = store.processes(0)
    store.close()
    assert result.rolled_up_minutes == 120 and result.raw_cutoff == START + 2 * HOUR
    old = [o for o in kept if o.ts < START + 2 * HOUR]
    # The first detail tick of each of the 120 rolled-up minutes, all its 6 groups, as written.
    assert sorted({o.ts for o in old}) == [START + 60 * m + 5 for m in range(120)]
    assert old == [o for o in written if o.ts < START + 2 * HOUR and o.ts % 60 == 5]
    assert kept[len(old) :] == raw_only == [o for o in written if o.ts >= START + 2 * HOUR]
    assert len(raw_only) == 6 * 360 and len(old) == 6 * 120
    # Process rows are not thinned: they go with their ticks.
    assert processes and min(p["ts"] for p in processes) >= START + 2 * HOUR
    assert count(path, "SELECT count(*) FROM app_groups") == 6 * 360
    assert count(path, "SELECT count(*) FROM thin_groups WHERE ts IS NOT NULL") == 0  # no repeated times


def test_a_group_seen_only_in_thinned_rows_keeps_its_name(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite"
    store = SnapshotStore.open(path, raw_s=600.0, max_age_s=86400)
    rng = random.Random(2)
    gone = replace(observation(START, 9, rng), name="short-lived", ts=START + 0.25)
    store.write_tick(START, {"cpu_busy": 1.0}, [], [gone], [])
    fill(store, START + 1, 1800)
    store.enforce_retention(now=START + 1800)  # the only raw row of `gone` is deleted here
    store.write_tick(START + 1800, {"cpu_busy": 1.0}, [], [observation(START + 1800, 0, rng)], [])
    first = store.observations(0, START + 59)
    store.close()
    # Its own ts (a quarter second after the tick's) survives thinning too.
    assert first == [gone]


def test_a_late_tick_does_not_add_rows_to_a_thinned_minute(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite"
    store = SnapshotStore.open(path, raw_s=600.0, max_age_s=86400)
    fill(store, START, 120, detail_every=1)
    store.enforce_retention(now=START + HOUR)
    store.write_tick(*tick(START + 30.5, random.Random(3)))  # the clock was set back
    store.enforce_retention(now=START + HOUR)
    kept = store.observations(0)
    (minute, later) = store.minutes(0)
    store.close()
    assert Counter(o.ts for o in kept) == {START: 6, START + 60: 6}
    assert (minute.ticks, later.ticks) == (61, 60)  # the late tick's figures are still counted once


def test_thinned_rows_go_with_their_minutes_at_max_age(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite"
    store = SnapshotStore.open(path, raw_s=HOUR, max_age_s=3 * HOUR)
    fill(store, START, 4 * 3600)
    store.enforce_retention(now=START + 3 * HOUR)  # thins hours 0 and 1
    assert min(o.ts for o in store.observations(0)) == START
    result = store.enforce_retention(now=START + 4 * HOUR)  # hour 0 is past max age now
    kept = store.observations(0)
    minutes = store.minutes(0)
    store.close()
    assert result.deleted_minutes == 60 and result.rolled_up_minutes == 60
    assert min(o.ts for o in kept) == START + HOUR == minutes[0].minute * 60
    assert {math.floor(o.ts / 60) for o in kept if o.ts < START + 3 * HOUR} == {m.minute for m in minutes}
    assert count(path, "SELECT min(minute) FROM thin_minutes") * 60 == START + HOUR


def test_size_limit_drops_the_oldest_minutes_with_their_group_rows(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite"
    store = SnapshotStore.open(path, raw_s=600.0, max_age_s=10**9, max_bytes=2**30)
    fill(store, START, 6 * 3600, detail_every=5)
    store.enforce_retention(now=START + 6 * HOUR)  # 5 h 50 min thinned, 10 min raw
    thinned = count(path, "SELECT count(*) FROM thin_minutes")
    store.max_bytes = int(path.stat().st_size * 0.5)
    result = store.enforce_retention(now=START + 6 * HOUR)
    rows = store.observations(0)
    minutes = store.minutes(0)
    store.close()
    assert thinned == 350 and result.bytes_after <= store.max_bytes and result.deleted_minutes > 0
    # Oldest first: what is left is a contiguous run of minutes up to the newest detail tick.
    kept = sorted({math.floor(o.ts / 60) for o in rows})
    assert kept == list(range(kept[0], kept[-1] + 1)) and rows[-1].ts == START + 6 * HOUR - 5
    assert kept[0] == minutes[0].minute and len(kept) < 360
    assert count(path, "SELECT count(*) FROM thin_minutes") == len(minutes)


def test_a_version_3_log_is_migrated_and_thins_what_it_rolls_up_next(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite"
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode = WAL")
    assert migrate(conn, MIGRATIONS[:3]) == 3
    # A version-3 file: raw ticks, and minutes rolled up the v3 way (their group rows gone).
    old = SnapshotStore(
        path, conn, [], hash_cmdlines=False, max_age_s=86400, max_bytes=2**30, processes_per_tick=5
    )
    fill(old, START, 1200)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("CREATE TEMP TABLE doomed (tick INTEGER PRIMARY KEY)")
    conn.execute("INSERT INTO doomed SELECT tick FROM samples WHERE ts < ?", (START + 600,))
    assert rollup.fold(conn) == 10
    for table in ("app_groups", "processes", "decisions", "samples"):
        conn.execute(f"DELETE FROM {table} WHERE tick IN (SELECT tick FROM doomed)")
    conn.execute("COMMIT")
    before = (old.samples(0), old.observations(0, thinned=False), old.minutes(0), old.processes(0))
    old.close()

    store = SnapshotStore.open(path, raw_s=300.0, max_age_s=86400)
    assert store.problems == []
    assert (store.samples(0), store.observations(0), store.minutes(0), store.processes(0)) == before
    result = store.enforce_retention(now=START + 1200)
    rows = store.observations(0)
    store.close()
    assert count(path, "PRAGMA user_version") == SCHEMA_VERSION == 4
    assert result.rolled_up_minutes == 5
    assert sorted({o.ts for o in rows if o.ts < START + 900}) == [START + 600 + 60 * m for m in range(5)]
