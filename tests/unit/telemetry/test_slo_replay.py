"""SLO budgets replayed from a real snapshot log equal the budgets the live ticks would have built."""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from smoothdesk.helper.samples import JUDGED_ALIASES, judged
from smoothdesk.telemetry.schema import StoreError
from smoothdesk.telemetry.slo import Slo, SloStatus, SloTracker
from smoothdesk.telemetry.slo_replay import replay
from smoothdesk.telemetry.store import SnapshotStore
from smoothdesk.telemetry.writer import StoreWriter
from tests.support.procs import wait_for

WEEK = 7 * 86400.0
# An hour that ended a while ago, on a whole hour (so on whole windows of any length used here).
BASE = math.floor(time.time() / 3600) * 3600 - 3 * 3600.0
P99 = Slo("sched-p99", "latency_p99_ms", "<", 4.0, 0.99, 60.0, WEEK)
PSI = Slo("cpu-psi", "psi_cpu_some_avg10", "<", 20.0, 0.99, 60.0, WEEK)  # stored as psi_cpu_some
PSI_MEAN = Slo("cpu-psi-mean", "psi_cpu_some_avg10", "<", 20.0, 0.99, 60.0, WEEK, "mean")
ALLOWED = 0.01 * WEEK / 60  # bad one-minute windows a 99 % objective allows in 7 days: 100.8

Numbers = dict[str, float]


def numbers(i: int) -> Numbers:
    """Second i as the helper logs it (samples.storable): 10 % of the seconds breach each SLO,
    the p99 one as whole bad minutes (3, 13, 23, ...), the PSI one as every tenth second."""
    return {
        "cpu_busy": 30.0,
        "psi_cpu_some": 25.0 if i % 10 == 0 else 10.0,
        "psi_memory_some": 0.0,
        "tick_cost_ms": 3.0,
        "latency_p99_ms": 6.0 if (i // 60) % 10 == 3 else 1.0,
        "score": 90.0,
        "memory_available_percent": 50.0,
        "disk_used_percent:/": 40.0,
    }


def write_with_writer(path: Path, series: Sequence[tuple[float, Numbers]]) -> None:
    """Through the helper's own writer thread, as the helper logs a tick without detail."""
    writer = StoreWriter(SnapshotStore.open(path), max_queue=len(series) + 10)
    for ts, figures in series:
        writer.submit_tick(ts, figures, [], [], [])
    assert wait_for(lambda: writer.written == len(series), timeout=60), (writer.written, writer.last_error)
    writer.close()
    assert (writer.dropped, writer.errors) == (0, 0)


def live(slos: Sequence[Slo], series: Sequence[tuple[float, Numbers]], now: float) -> list[SloStatus]:
    """What the helper's tick path (judged() then observe) builds from the same figures."""
    tracker = SloTracker(slos)
    for ts, figures in series:
        tracker.observe(ts, judged(figures))
    return tracker.status(now)


def same(a: Sequence[SloStatus], b: Sequence[SloStatus]) -> bool:
    # NaN never equals itself; compare through repr, which spells it "nan".
    return [repr(s) for s in a] == [repr(s) for s in b]


HOUR = [(BASE + i, numbers(i)) for i in range(3600)]


@pytest.fixture(scope="module")
def hour_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("replay") / "snapshots.sqlite"
    write_with_writer(path, HOUR)
    return path


def test_an_hour_with_ten_percent_breaching_replays_to_the_known_budget(hour_log: Path) -> None:
    end = BASE + 3600
    done = replay(hour_log, [P99, PSI, PSI_MEAN], until=end, aliases=JUDGED_ALIASES)
    assert (done.samples, done.oldest) == (3600, BASE)
    p99, psi, psi_mean = done.tracker.status(end)
    assert (p99.total_windows, p99.bad_windows) == (60, 6)
    assert p99.budget_remaining == pytest.approx(1 - 6 / ALLOWED)
    assert (psi.total_windows, psi.bad_windows) == (60, 60)  # one bad second makes a bad worst minute
    assert psi.budget_remaining == pytest.approx(1 - 60 / ALLOWED)
    assert (psi_mean.bad_windows, psi_mean.last_value) == (0, pytest.approx(11.5))  # mean 11.5 < 20
    assert p99.since == psi.since == BASE
    # Equal, field for field, to what the live tick path makes of the same figures.
    assert same(done.tracker.status(end), live([P99, PSI, PSI_MEAN], HOUR, end))


def test_samples_at_or_after_until_and_before_the_period_are_left_out(hour_log: Path) -> None:
    week = Slo("p", "latency_p99_ms", "<", 4.0, 0.99, 60.0, 20 * 60.0)  # a 20-minute period
    done = replay(hour_log, [week], until=BASE + 30 * 60, aliases=JUDGED_ALIASES)
    # [until - 21 min, until): 1260 samples, of which the period keeps the last 20 whole minutes.
    assert (done.samples, done.oldest) == (1260, BASE + 9 * 60)
    (st,) = done.tracker.status(BASE + 30 * 60)
    assert (st.total_windows, st.bad_windows, st.since) == (20, 2, BASE + 10 * 60)  # minutes 13 and 23
    assert same([st], live([week], HOUR[: 30 * 60], BASE + 30 * 60))


@pytest.mark.parametrize(
    "slos",
    [
        # The config edited between runs: a stricter threshold, a longer window, another figure,
        # an objective dropped. The old samples are judged by the new definitions.
        [Slo("sched-p99", "latency_p99_ms", "<", 0.5, 0.99, 60.0, WEEK)],
        [Slo("sched-p99", "latency_p99_ms", "<", 4.0, 0.999, 300.0, WEEK, "mean")],
        [Slo("score", "score", ">=", 95.0, 0.99, 60.0, WEEK), PSI_MEAN],
        [Slo("mem", "memory_available_percent", ">", 10.0, 0.9, 120.0, 86400.0)],
    ],
    ids=["threshold", "window-and-mean", "other-figures", "other-period"],
)
def test_changed_definitions_judge_the_old_samples_anew(hour_log: Path, slos: list[Slo]) -> None:
    end = BASE + 3600
    done = replay(hour_log, slos, until=end, aliases=JUDGED_ALIASES)
    assert same(done.tracker.status(end), live(slos, HOUR, end))
    assert all(s.total_windows > 0 for s in done.tracker.status(end))


def test_gaps_count_neither_way(tmp_path: Path) -> None:
    # 20 minutes, the helper off for 3 hours, 20 more minutes.
    series = [(BASE + i, numbers(i)) for i in [*range(1200), *range(12000, 13200)]]
    path = tmp_path / "log.sqlite"
    write_with_writer(path, series)
    end = BASE + 13200
    done = replay(path, [P99], until=end, aliases=JUDGED_ALIASES)
    (st,) = done.tracker.status(end)
    # 40 judged minutes (none of the 180 off), 2 + 2 bad (minutes 3, 13, 203 and 213).
    assert (st.total_windows, st.bad_windows, st.since) == (40, 4, BASE)
    assert st.budget_remaining == pytest.approx(1 - 4 / ALLOWED)
    assert same([st], live([P99], series, end))


def test_nan_and_infinity_in_the_json_are_not_lost(tmp_path: Path) -> None:
    # json.dumps writes NaN and Infinity, which SQLite's JSON functions reject; those rows are
    # parsed in Python instead, and the column figures of the row still count.
    series = [(BASE + i, numbers(i)) for i in range(600)]
    series[100][1]["latency_p99_ms"] = math.inf  # bad: a stalled probe
    series[200][1]["score"] = math.nan
    series[300][1]["latency_p99_ms"] = math.nan  # not measured: counts neither way
    series[430][1]["score"] = math.inf
    path = tmp_path / "log.sqlite"
    write_with_writer(path, series)
    slos = [P99, PSI, Slo("score", "score", ">=", 95.0, 0.99, 60.0, WEEK)]
    done = replay(path, slos, until=BASE + 600, aliases=JUDGED_ALIASES)
    assert done.samples == 600
    statuses = done.tracker.status(BASE + 600)
    assert same(statuses, live(slos, series, BASE + 600))
    assert [s.bad_windows for s in statuses] == [2, 10, 10]  # p99: minute 3 as always, 1 by the Infinity


def test_a_missing_log_replays_nothing(tmp_path: Path) -> None:
    done = replay(tmp_path / "none.sqlite", [P99], until=BASE)
    assert (done.samples, math.isnan(done.oldest)) == (0, True)
    assert not (tmp_path / "none.sqlite").exists()


def _garbage(path: Path) -> None:
    path.write_bytes(b"this is no database\n" * 400)


def _truncated(path: Path) -> None:
    write_with_writer(path, HOUR[:600])
    path.write_bytes(path.read_bytes()[:8192])  # the header promises pages that are gone


def _newer(path: Path) -> None:
    write_with_writer(path, HOUR[:60])
    store = SnapshotStore.open(path)
    store.query("PRAGMA user_version = 99")
    store.close()


@pytest.mark.parametrize(
    ("spoil", "needle"),
    [
        (_garbage, "not a database"),
        (_truncated, "malformed"),
        (_newer, "schema version 99, newer than"),
    ],
    ids=["garbage", "truncated", "newer"],
)
def test_a_broken_log_is_refused_with_its_name_and_left_as_it_was(
    tmp_path: Path, spoil: Callable[[Path], None], needle: str
) -> None:
    path = tmp_path / "log.sqlite"
    spoil(path)
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in tmp_path.iterdir()}
    with pytest.raises(StoreError) as info:
        replay(path, [P99], until=BASE + 3600, aliases=JUDGED_ALIASES)
    assert str(info.value).startswith(str(path)) and needle in str(info.value)
    # (A read-only WAL reader may add empty -wal/-shm side files; what was there stays as it was.)
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in tmp_path.iterdir()}
    assert {name: after.get(name) for name in before} == before
