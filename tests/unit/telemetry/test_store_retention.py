"""Retention on a real snapshot-log file: by age drops only old rows; by size the file really shrinks."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

from store_data import tick

from smoothdesk.telemetry.store import SnapshotStore


def fill(store: SnapshotStore, start: float, count: int, step: float = 1.0) -> None:
    rng = random.Random(int(start))
    for t in range(count):
        ts = start + t * step
        store.write_tick(*tick(ts, rng, n_groups=20, n_procs=40))
        store.write_focus(ts, "unit:x", t, "focus")


def table_counts(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        names = ["samples", "app_groups", "processes", "process_info", "groups", "decisions", "focus_events"]
        return {n: int(conn.execute(f"SELECT count(*) FROM {n}").fetchone()[0]) for n in names}
    finally:
        conn.close()


def test_age_retention_drops_old_rows_only(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite"
    store = SnapshotStore.open(path, max_age_s=100.0)
    fill(store, 1000.0, 150)
    result = store.enforce_retention(now=1149.0 + 0.5)  # keeps ts >= 1049.5
    assert (result.deleted_ticks, result.deleted_focus_events, result.size_cutoff) == (50, 50, None)
    assert [s["time"] for s in store.samples(0)] == [1050.0 + t for t in range(100)]
    assert {o.ts for o in store.observations(0)} == {1050.0 + t for t in range(100)}
    assert [e[0] for e in store.focus_events(0)] == [1050.0 + t for t in range(100)]
    assert all(p["ts"] >= 1050.0 for p in store.processes(0))
    # Decisions of the first tick were logged at 1000 and are gone; none changed afterwards.
    assert store.decisions(0) == []
    again = store.enforce_retention(now=1149.5)
    assert not again.deleted_anything
    store.close()
    counts = table_counts(path)
    assert counts["samples"] == 100 and counts["app_groups"] == 2000 and counts["focus_events"] == 100
    assert counts["process_info"] == 40  # processes still referenced stay


def test_size_retention_shrinks_the_file_and_keeps_the_newest(tmp_path: Path) -> None:
    """Without rollups (raw_s None) the oldest ticks go; with them, see test_rollup.py."""
    path = tmp_path / "log.sqlite"
    limit = 400 * 1024
    store = SnapshotStore.open(path, max_bytes=limit, max_age_s=10**9, raw_s=None)
    fill(store, 5000.0, 1200)
    store.close()
    big = path.stat().st_size
    assert big > 3 * limit, big  # the checkpointed file is well over the limit

    store = SnapshotStore.open(path, max_bytes=limit, max_age_s=10**9, raw_s=None)
    result = store.enforce_retention(now=6200.0)
    samples = store.samples(0)
    store.close()
    assert result.bytes_before == big and result.bytes_after <= limit
    assert path.stat().st_size == result.bytes_after  # the file itself shrank
    times = [s["time"] for s in samples]
    assert times[-1] == 5000.0 + 1199 and times == [times[0] + i for i in range(len(times))]
    assert 50 < len(times) < 1200 and result.size_cutoff is not None and times[0] >= result.size_cutoff
    counts = table_counts(path)
    assert counts["app_groups"] == 20 * len(times) and counts["focus_events"] == len(times)


def test_retention_then_more_ticks_reuse_cached_keys_correctly(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite"
    store = SnapshotStore.open(path, max_age_s=10.0)
    fill(store, 0.0, 30)
    store.enforce_retention(now=1000.0)  # everything is older than 10 s: groups and process_info go too
    fill(store, 1000.0, 3)
    assert len(store.observations(0)) == 60
    assert len(store.processes(0)) == 60 and all(p["comm"].startswith("proc") for p in store.processes(0))
    store.close()
