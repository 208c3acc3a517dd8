"""StoreWriter: never blocks the tick, counts drops, survives failing writes, flushes on close."""

from __future__ import annotations

import logging
import random
import sqlite3
from pathlib import Path

import pytest
from store_data import tick

from smoothdesk.telemetry.store import SnapshotStore
from smoothdesk.telemetry.writer import StoreWriter
from tests.support.procs import wait_for


def test_everything_submitted_is_readable_after_close(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite"
    writer = StoreWriter(SnapshotStore.open(path))
    rng = random.Random(1)
    written = [tick(100.0 + t, rng) for t in range(200)]
    for args in written:
        writer.submit_tick(*args)
        writer.submit_focus(args[0], "unit:x", 1, "input")
    writer.close()
    assert (writer.dropped, writer.errors, writer.written) == (0, 0, 200)
    store = SnapshotStore.open(path)
    assert store.observations(0) == [o for args in written for o in args[3]]
    assert len(store.focus_events(0)) == 200
    store.close()


def test_a_full_queue_drops_and_counts_instead_of_blocking(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite"
    writer = StoreWriter(SnapshotStore.open(path, lock_timeout=60.0), max_queue=5)
    rng = random.Random(2)
    writer.submit_tick(*tick(0.0, rng))
    assert wait_for(lambda: writer.written == 1, timeout=30)  # past its start-up retention pass
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock: the store thread waits on it
    try:
        writer.submit_tick(*tick(1.0, rng))
        assert wait_for(lambda: writer.pending == 0, timeout=30)  # taken, now stuck on the lock
        for t in range(2, 10):  # a blocking put would hang here until the lock is released
            writer.submit_tick(*tick(float(t), rng))
        assert (writer.pending, writer.dropped) == (5, 3)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    writer.close(timeout=30)
    store = SnapshotStore.open(path)
    assert [s["time"] for s in store.samples(0)] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    store.close()


def test_a_failing_write_is_logged_and_counted_and_the_thread_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "log.sqlite"
    writer = StoreWriter(SnapshotStore.open(path))
    with caplog.at_level(logging.ERROR, logger="smoothdesk.telemetry.writer"):
        writer.submit_tick(1.0, {"cpu_busy": 1.0}, [], [], [])
        writer.submit_tick(2.0, {"cpu_busy": "not a number"}, [], [], [])  # type: ignore[dict-item]
        writer.submit_tick(3.0, {"cpu_busy": [1]}, [], [], [])  # type: ignore[dict-item]
        writer.submit_tick(4.0, {"cpu_busy": 4.0}, [], [], [])
        writer.close()
    assert (writer.errors, writer.written) == (2, 2)
    assert "log.sqlite" in writer.last_error and "'cpu_busy' is list" in writer.last_error
    assert any("snapshot log tick failed" in r.getMessage() for r in caplog.records)
    store = SnapshotStore.open(path)
    assert 4.0 in [s["time"] for s in store.samples(0)]
    store.close()
    writer.submit_tick(5.0, {}, [], [], [])  # after close: dropped, not an error
    assert writer.dropped == 1
