"""Opening real snapshot-log files: migrations, newer versions, and corrupt or locked files moved aside."""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from store_data import tick

from smoothdesk.telemetry.schema import MIGRATIONS, SCHEMA_VERSION, migrate, user_version
from smoothdesk.telemetry.store import SnapshotStore, StoreError

PAGE = 4096


def make_log(path: Path, ticks: int = 200) -> None:
    rng = random.Random(7)
    store = SnapshotStore.open(path)
    for t in range(ticks):
        store.write_tick(*tick(1000.0 + t, rng))
    store.close()


def sample_count(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("SELECT count(*) FROM samples").fetchone()[0])
    finally:
        conn.close()


def assert_moved_aside(path: Path, store: SnapshotStore, reason: str, original: bytes | None) -> Path:
    assert len(store.problems) == 1 and reason in store.problems[0] and str(path) in store.problems[0]
    asides = [p for p in path.parent.iterdir() if p.name.startswith(path.name + ".corrupt-")]
    main = [p for p in asides if not p.name.endswith(("-wal", "-shm"))]
    assert len(main) == 1 and main[0].name in store.problems[0]
    if original is not None:
        assert main[0].read_bytes() == original  # kept byte for byte
    # The fresh log works.
    store.write_tick(*tick(5.0, random.Random(1)))
    assert [s["time"] for s in store.samples(0)] == [5.0]
    store.close()
    return main[0]


def test_garbage_file_is_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite"
    garbage = os.urandom(3 * PAGE)
    path.write_bytes(garbage)
    assert_moved_aside(path, SnapshotStore.open(path), "corrupt", garbage)


def test_truncated_file_is_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite"
    make_log(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert_moved_aside(path, SnapshotStore.open(path), "corrupt", data[: len(data) // 2])


def test_file_failing_its_integrity_check_is_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite"
    make_log(path)
    original = path.read_bytes()
    # Smash the cell pointers of a leaf page of a clustered table, past the schema pages, such
    # that SQLite still opens the file and integrity_check lists the damage (rather than raising).
    for page in (n for n in range(20, len(original) // PAGE) if original[n * PAGE] == 0x0A):
        data = bytearray(original)
        data[page * PAGE + 8 : page * PAGE + 40] = b"\xff" * 32
        path.write_bytes(bytes(data))
        conn = sqlite3.connect(path)
        try:
            if conn.execute("PRAGMA integrity_check").fetchall() != [("ok",)]:
                break
        except sqlite3.DatabaseError:
            pass
        finally:
            conn.close()
    else:
        pytest.fail("no page found whose damage integrity_check reports")
    assert_moved_aside(path, SnapshotStore.open(path), "integrity check", bytes(data))


LOCKER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
conn.execute("INSERT INTO meta VALUES ('locker', 'x')")
print("locked", flush=True)
time.sleep(60)
"""


def test_file_locked_beyond_the_timeout_is_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite"
    make_log(path, ticks=20)
    locker = subprocess.Popen([sys.executable, "-c", LOCKER, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert locker.stdout is not None and locker.stdout.readline() == "locked\n"
        store = SnapshotStore.open(path, lock_timeout=0.3)
        aside = assert_moved_aside(path, store, "locked by another process", None)
    finally:
        locker.kill()
        locker.wait()
        if locker.stdout is not None:
            locker.stdout.close()
    assert sample_count(aside) == 20  # the history is in the file moved aside


def test_a_newer_schema_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite"
    make_log(path, ticks=3)
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.close()
    before = (path.read_bytes(), path.stat().st_mtime_ns, sorted(os.listdir(tmp_path)))
    with pytest.raises(StoreError, match=rf"log\.sqlite.*version {SCHEMA_VERSION + 5}.*{SCHEMA_VERSION}"):
        SnapshotStore.open(path)
    assert (path.read_bytes(), path.stat().st_mtime_ns, sorted(os.listdir(tmp_path))) == before


def test_a_version_1_log_is_migrated_and_keeps_its_data(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    assert migrate(conn, MIGRATIONS[:1]) == 1
    conn.execute("INSERT INTO samples (tick, ts, cpu_busy, extra) VALUES (1, 50.0, 12.5, '{\"x\": 2}')")
    conn.execute("INSERT INTO groups VALUES (1, 'unit:a', 'a', 'unit', 1000)")
    conn.execute(
        "INSERT INTO app_groups VALUES (1, 0, 1, NULL, 'idle', 'indexer', 2, 4, 1.5, 0.5, 4096, 0, 0, 60.0, "
        "0, 0, 1, -1.0, 3.0, 0)"
    )
    conn.execute("INSERT INTO process_info VALUES (7, 70, 1, 1000, 'tracker', '/usr/bin/tracker', 'tracker')")
    conn.execute("INSERT INTO processes VALUES (1, 0, 7, 70, 1.5, 0.5, 4096, 0, 0, 19, 5, NULL, 4, 'S')")
    conn.close()

    store = SnapshotStore.open(path)
    assert store.problems == []
    assert store.samples(0) == [{"time": 50.0, "cpu_busy": 12.5, "x": 2}]
    [obs] = store.observations(0)
    assert (obs.ts, obs.group_id, obs.klass, obs.rss_bytes, obs.audio, obs.seconds_since_audio) == (
        50.0,
        "unit:a",
        "idle",
        4096,
        True,
        3.0,
    )
    [proc] = store.processes(0)
    assert (proc["pid"], proc["nice"], proc["comm"], proc["klass"]) == (7, 19, "tracker", None)
    store.write_tick(*tick(51.0, random.Random(2)))  # the v2 tables work
    assert len(store.decisions(0)) == 6
    store.close()
    conn = sqlite3.connect(path)
    assert user_version(conn) == SCHEMA_VERSION == 4
    conn.close()
