"""The snapshot log on a real SQLite file: exact round trips, decisions on change, process pick, hashing."""

from __future__ import annotations

import random
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from store_data import observation, process, tick

from smoothdesk.core.observation import GroupObservation
from smoothdesk.telemetry.store import SnapshotStore, StoreError


def test_every_table_round_trips(tmp_path: Path) -> None:
    rng = random.Random(1)
    store = SnapshotStore.open(tmp_path / "log.sqlite")
    written = [tick(1000.0 + t, rng) for t in range(5)]
    for args in written:
        store.write_tick(*args)
    store.write_focus(1001.5, "unit:x", 42, "focus")
    store.write_focus(1003.0, "unit:y", 43, "audio")
    store.close()

    store = SnapshotStore.open(tmp_path / "log.sqlite")
    assert store.problems == []
    assert store.observations(0) == [o for args in written for o in args[3]]
    assert store.observations(1001.0, 1002.0) == written[1][3] + written[2][3]
    samples = store.samples(1002.0)
    assert [s["time"] for s in samples] == [1002.0, 1003.0, 1004.0]
    expected = dict(written[2][1])
    assert samples[0] == {k: float(v) for k, v in expected.items()}
    assert store.focus_events(1001.0) == [(1001.5, "unit:x", 42, "focus"), (1003.0, "unit:y", 43, "audio")]
    store.close()


def test_decisions_are_logged_only_when_they_change(tmp_path: Path) -> None:
    store = SnapshotStore.open(tmp_path / "log.sqlite")
    a, b = ("unit:a", "normal", "default"), ("unit:b", "idle", "rule indexer")
    store.write_tick(1.0, {}, [], [], [a, b])
    store.write_tick(2.0, {}, [], [], [a, b])
    store.write_tick(3.0, {}, [], [], [("unit:a", "background", "noisy neighbour"), b])
    store.write_tick(4.0, {}, [], [], [("unit:a", "background", "noisy neighbour"), b])
    assert store.decisions(0) == [
        (1.0, "unit:a", "normal", "default"),
        (1.0, "unit:b", "idle", "rule indexer"),
        (3.0, "unit:a", "background", "noisy neighbour"),
    ]
    store.close()


def test_observation_with_its_own_time_and_renamed_group(tmp_path: Path) -> None:
    rng = random.Random(2)
    store = SnapshotStore.open(tmp_path / "log.sqlite")
    first = observation(10.0, 1, rng)
    odd_time = replace(first, ts=9.75)
    renamed = replace(first, name="renamed")
    store.write_tick(10.0, {}, [], [first, odd_time, renamed], [])
    assert store.observations(0) == [first, odd_time, renamed]
    store.close()


_obs = st.builds(
    GroupObservation,
    ts=st.just(5.0),
    group_id=st.text(max_size=40),
    name=st.text(max_size=20),
    kind=st.sampled_from(["unit", "tree"]),
    uid=st.integers(0, 2**32 - 1),
    klass=st.sampled_from(["critical", "interactive", "normal", "background", "idle"]),
    rule_type=st.text(max_size=10),
    n_procs=st.integers(0, 10**6),
    n_threads=st.integers(0, 10**6),
    cpu_tick=st.floats(allow_nan=False),
    cpu_10s=st.floats(allow_nan=False),
    rss_bytes=st.integers(0, 2**62),
    io_read_rate=st.floats(allow_nan=False),
    io_write_rate=st.floats(allow_nan=False),
    age_s=st.floats(allow_nan=False),
    has_tty=st.booleans(),
    focused=st.booleans(),
    audio=st.booleans(),
    seconds_since_focus=st.floats(allow_nan=False),
    seconds_since_audio=st.floats(allow_nan=False),
    focus_count_1h=st.integers(0, 10**6),
)


@settings(max_examples=40, deadline=None)
@given(st.lists(_obs, max_size=8))
def test_any_observations_round_trip_exactly(
    tmp_path_factory: pytest.TempPathFactory, obs: list[GroupObservation]
) -> None:
    store = SnapshotStore.open(tmp_path_factory.mktemp("h") / "log.sqlite")
    try:
        store.write_tick(5.0, {}, [], obs, [])
        assert store.observations(5.0, 5.0) == obs
    finally:
        store.close()


def test_keeps_the_busiest_processes_and_every_non_normal_one(tmp_path: Path) -> None:
    rng = random.Random(3)
    store = SnapshotStore.open(tmp_path / "log.sqlite", processes_per_tick=3)
    groups = [observation(1.0, 0, rng, "normal"), observation(1.0, 1, rng, "idle")]
    procs = [process(100 + k, rng, cpu=float(k)) for k in range(10)]
    idle_pid = 102  # low CPU, but its group is idle
    pid_groups = {p.pid: groups[0].group_id for p in procs} | {idle_pid: groups[1].group_id}
    store.write_tick(1.0, {}, procs, groups, [], pid_groups)
    rows = store.processes(0)
    assert [r["pid"] for r in rows] == [109, 108, 107, idle_pid]
    assert [r["klass"] for r in rows] == ["normal", "normal", "normal", "idle"]
    assert rows[0]["cmdline"] == "\0".join(procs[9].cmdline)
    store.close()


def test_hashed_cmdlines_use_one_salt_per_database(tmp_path: Path) -> None:
    rng = random.Random(4)
    proc = process(200, rng)
    hashes = []
    for name in ("a.sqlite", "b.sqlite"):
        for reopen in range(2):
            store = SnapshotStore.open(tmp_path / name, hash_cmdlines=True)
            store.write_tick(float(reopen), {}, [replace(proc, start_time=proc.start_time + reopen)], [], [])
            store.close()
        conn = sqlite3.connect(tmp_path / name)
        cmdlines = [r[0] for r in conn.execute("SELECT cmdline FROM process_info")]
        text = b"".join(r[0] for r in conn.execute("SELECT CAST(cmdline AS BLOB) FROM process_info"))
        conn.close()
        assert b"hunter2" not in (tmp_path / name).read_bytes() and b"hunter2" not in text
        assert len(cmdlines) == 2 and cmdlines[0] == cmdlines[1] and cmdlines[0].startswith("sha256:")
        hashes.append(cmdlines[0])
    assert hashes[0] != hashes[1]  # different salts: the same command line is not linkable across files


def test_a_bad_value_fails_the_tick_with_the_file_named_and_loses_nothing(tmp_path: Path) -> None:
    store = SnapshotStore.open(tmp_path / "log.sqlite")
    store.write_tick(1.0, {"cpu_busy": 1.0}, [], [], [])
    with pytest.raises(StoreError, match=r"log\.sqlite.*tick at 2\.0.*'cpu_busy' is object"):
        store.write_tick(2.0, {"cpu_busy": object()}, [], [], [])  # type: ignore[dict-item]
    store.write_tick(3.0, {"cpu_busy": 3.0}, [], [], [])
    assert [s["time"] for s in store.samples(0)] == [1.0, 3.0]
    store.close()
