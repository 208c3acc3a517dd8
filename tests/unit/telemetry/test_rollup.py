"""Per-minute rollups on real log files: the v3 migration, folding as raw ticks age out, and SLO replay."""

from __future__ import annotations

import math
import random
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from store_data import tick

from smoothdesk.telemetry.schema import MIGRATIONS, SCHEMA_VERSION, migrate, user_version
from smoothdesk.telemetry.slo import Slo, SloStatus
from smoothdesk.telemetry.slo_replay import replay
from smoothdesk.telemetry.store import SnapshotStore

ALIASES = {"psi_cpu_some_avg10": "psi_cpu_some"}
DAY = 86400.0
START = 1_700_000_000.0 - 1_700_000_000.0 % 3600  # a whole hour


def same(a: Sequence[SloStatus], b: Sequence[SloStatus]) -> bool:
    return [repr(s) for s in a] == [repr(s) for s in b]  # repr spells NaN alike


def series(hours: float, seed: int = 3) -> list[tuple[float, dict[str, float]]]:
    """Ticks about a second apart, with gaps (so minutes hold different counts) and spikes.

    Values are multiples of 1/8, so every sum is exact and a mean is the same however it is summed.
    """
    rng = random.Random(seed)
    out = []
    ts = START
    while ts < START + hours * 3600:
        if rng.random() < 0.002:
            ts += rng.uniform(5, 400)  # the helper was stopped, or the figure not measured
            continue
        p99 = rng.choice([1.0, 1.5, 2.0, 3.25]) if rng.random() > 0.01 else 9.5
        figures = {"latency_p99_ms": p99, "psi_cpu_some": rng.randrange(0, 200) / 8}
        if rng.random() < 0.003:
            figures["audio_xruns"] = 1.0
        elif rng.random() < 0.7:
            figures["audio_xruns"] = 0.0
        out.append((ts, figures))
        ts += rng.choice([1.0, 1.0, 1.0, 0.5, 2.0])
    return out


SLOS = [
    Slo("p99", "latency_p99_ms", "<", 4.0, 0.99, 60.0, DAY),
    Slo("p99-5m", "latency_p99_ms", "<", 3.0, 0.99, 300.0, DAY),
    Slo("psi-mean", "psi_cpu_some_avg10", "<", 12.5, 0.9, 120.0, DAY, aggregate="mean"),
    Slo("psi-floor", "psi_cpu_some_avg10", ">", 0.5, 0.9, 60.0, DAY),
    Slo("xruns", "audio_xruns", "==", 0.0, 0.995, 60.0, DAY),
]


def write(path: Path, ticks: Sequence[tuple[float, dict[str, float]]]) -> None:
    store = SnapshotStore.open(path, raw_s=None, max_age_s=10**9)
    for ts, figures in ticks:
        store.write_tick(ts, figures, [], [], [])
    store.close()


def test_replay_over_rollups_equals_the_replay_over_raw_samples(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite"
    ticks = series(6.0)
    write(path, ticks)
    until = ticks[-1][0] + 1
    raw = replay(path, SLOS, until=until, aliases=ALIASES)
    assert raw.minutes == 0 and raw.samples == len(ticks)
    # Roll up all but the last 100 minutes + a bit: the boundary falls inside a 5-minute window.
    store = SnapshotStore.open(path, raw_s=6000.0 + 150, max_age_s=10 * DAY)
    result = store.enforce_retention(now=until)
    store.close()
    assert result.rolled_up_minutes > 200 and result.raw_cutoff is not None and result.raw_cutoff % 300
    rolled = replay(path, SLOS, until=until, aliases=ALIASES)
    assert rolled.minutes == result.rolled_up_minutes and 0 < rolled.samples < len(ticks)
    assert rolled.rolled_ticks + rolled.samples == len(ticks) and rolled.oldest == raw.oldest == START
    statuses = rolled.tracker.status(until + 60)
    assert same(statuses, raw.tracker.status(until + 60))
    bad = {s.name: s.bad_windows for s in statuses}
    assert all(bad.values()) and all(s.total_windows > 60 for s in statuses), bad  # the test can fail


def test_windows_that_split_minutes_are_judged_pessimistically(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite"
    ticks = series(3.0, seed=8)
    write(path, ticks)
    until = ticks[-1][0] + 1
    slo = [Slo("p99-30s", "latency_p99_ms", "<", 4.0, 0.99, 30.0, DAY)]
    (raw,) = replay(path, slo, until=until).tracker.status(until)
    store = SnapshotStore.open(path, raw_s=600.0, max_age_s=DAY)
    store.enforce_retention(now=until)
    store.close()
    (rolled,) = replay(path, slo, until=until).tracker.status(until)
    # Each rolled-up minute judges both its halves by its worst value: never fewer bad windows.
    assert rolled.bad_windows >= raw.bad_windows > 0
    # A half without samples (a gap) is judged too when the other half had some.
    assert raw.total_windows <= rolled.total_windows <= raw.total_windows * 1.05


def stats(conn: sqlite3.Connection) -> dict[tuple[int, str], tuple[int, float, float, float]]:
    sql = "SELECT minute, name, n, total, lo, hi FROM rollups JOIN metric_names ON id = metric"
    return {(r[0], r[1]): tuple(r[2:]) for r in conn.execute(sql)}


def test_a_late_tick_is_merged_into_its_rolled_up_minute(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite"
    store = SnapshotStore.open(path, raw_s=600.0, max_age_s=DAY)
    for i in range(120):
        store.write_tick(START + i, {"cpu_busy": float(i), "latency_p99_ms": 2.0}, [], [], [])
    first = store.enforce_retention(now=START + 3600)
    assert (first.deleted_ticks, first.rolled_up_minutes) == (120, 2) and store.samples(0) == []
    store.write_tick(START + 30.5, {"cpu_busy": 500.0, "latency_p99_ms": math.nan}, [], [], [])  # clock back
    store.enforce_retention(now=START + 3600)
    (minute, later) = store.minutes(0)
    store.close()
    assert (minute.ticks, later.ticks, minute.first_ts, minute.last_ts) == (61, 60, START, START + 59)
    assert minute.stats["cpu_busy"].n == 61 and minute.stats["cpu_busy"].hi == 500.0
    assert minute.stats["cpu_busy"].total == sum(range(60)) + 500.0
    assert minute.stats["latency_p99_ms"].n == 60  # NaN is no value, as for the SLO tracker
    conn = sqlite3.connect(path)
    assert len(stats(conn)) == 4  # two minutes, two metrics: merged, not written twice
    conn.close()


def test_size_retention_rolls_raw_ticks_up_before_dropping_any(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite"
    limit = 400 * 1024
    store = SnapshotStore.open(path, max_bytes=limit, max_age_s=10**9)
    rng = random.Random(4)
    for t in range(1200):
        store.write_tick(*tick(5000.0 + t, rng, n_groups=20, n_procs=40))
    result = store.enforce_retention(now=6200.0)
    raw = store.samples(0)
    minutes = store.minutes(0)
    store.close()
    assert result.bytes_after <= limit < result.bytes_before and result.deleted_minutes == 0
    assert 0 < len(raw) < 1200 and raw[-1]["time"] == 5000.0 + 1199
    # No tick is lost: every one is either raw or counted in a rolled-up minute, none in both.
    assert sum(m.ticks for m in minutes) + len(raw) == 1200
    assert minutes[-1].last_ts < raw[0]["time"] and minutes[-1].minute * 60 + 60 <= raw[0]["time"]


def test_rollups_older_than_max_age_are_dropped_by_whole_minutes(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite"
    store = SnapshotStore.open(path, raw_s=60.0, max_age_s=3600.0)
    for i in range(0, 7200, 10):
        store.write_tick(START + i, {"cpu_busy": 1.0}, [], [], [])
    store.enforce_retention(now=START + 7200)
    minutes = store.minutes(0)
    store.close()
    assert [m.minute * 60 for m in minutes] == [START + 3600 + 60 * k for k in range(59)]


def test_a_version_2_log_is_migrated_and_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite"
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode = WAL")
    assert migrate(conn, MIGRATIONS[:2]) == 2
    # The shipped store code writing a version-2 file, as the previous release did.
    old = SnapshotStore(
        path, conn, [], hash_cmdlines=False, max_age_s=DAY, max_bytes=2**30, processes_per_tick=5
    )
    rng = random.Random(9)
    for t in range(300):
        old.write_tick(*tick(START + t, rng))
        old.write_focus(START + t, "unit:x", t, "focus")
    before = (
        old.samples(0),
        old.observations(0, thinned=False),
        old.processes(0),
        old.decisions(0),
        old.focus_events(0),
    )
    old.close()

    store = SnapshotStore.open(path, raw_s=None)
    assert store.problems == []
    after = (
        store.samples(0),
        store.observations(0),
        store.processes(0),
        store.decisions(0),
        store.focus_events(0),
    )
    assert after == before and len(before[0]) == 300
    store.close()
    conn = sqlite3.connect(path)
    assert user_version(conn) == SCHEMA_VERSION == 4
    assert conn.execute("SELECT count(*) FROM rollups").fetchone()[0] == 0
    conn.close()
    # And the migrated file rolls up: every tick lands in exactly one minute.
    store = SnapshotStore.open(path, raw_s=120.0)
    result = store.enforce_retention(now=START + 300)
    assert (
        result.rolled_up_minutes == 3
        and sum(m.ticks for m in store.minutes(0)) + len(store.samples(0)) == 300
    )
    store.close()
