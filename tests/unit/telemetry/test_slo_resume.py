"""The helper's SLO tracker: live at once, the replayed history merged in on a later tick, once."""

from __future__ import annotations

import logging
import math
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

from smoothdesk.helper.samples import JUDGED_ALIASES, judged
from smoothdesk.telemetry.slo import Slo, SloStatus, SloTracker
from smoothdesk.telemetry.slo_resume import ReplayingSloTracker
from smoothdesk.telemetry.store import SnapshotStore

BASE = math.floor(time.time() / 3600) * 3600 - 3 * 3600.0  # a whole hour that ended a while ago
# 10-second windows and a 1-day period: the fast burn pages at 2 bad windows in the last 12.
SLO = Slo("p99", "latency_p99_ms", "<", 4.0, 0.99, 10.0, 86400.0)
# The first run logged [BASE, RESTART); the second starts there, in the middle of window 59.
RESTART = BASE + 595.0


def same(a: Sequence[SloStatus], b: Sequence[SloStatus]) -> bool:
    return [repr(s) for s in a] == [repr(s) for s in b]  # repr spells NaN alike


def figures(i: int, bad: bool = False) -> dict[str, float]:
    return {"latency_p99_ms": 6.0 if bad else 1.0, "psi_cpu_some": 5.0}


def first_run(path: Path, bad_from: float = 10**12) -> list[tuple[float, dict[str, float]]]:
    """The log of a run that stopped just before RESTART, bad from `bad_from` on."""
    series = [(BASE + i, figures(i, BASE + i >= bad_from)) for i in range(595)]
    store = SnapshotStore.open(path)
    for ts, f in series:
        store.write_tick(ts, f, [], [], [])
    store.close()
    return series


@contextmanager
def replay_held(path: Path) -> Iterator[None]:
    """Keep the replay thread waiting on the file until the block ends (an exclusive lock)."""
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("PRAGMA locking_mode = EXCLUSIVE")
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()


def test_the_history_is_merged_on_the_next_tick_and_a_straddling_window_judged_once(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite"
    old = first_run(path, bad_from=RESTART - 1)  # only the last second of the first run is bad
    tracker = ReplayingSloTracker([SLO])
    new = [(RESTART + i, figures(i)) for i in range(30)]
    with replay_held(path):
        tracker.start_replay(path, JUDGED_ALIASES, until=RESTART)
        for ts, f in new[:20]:
            tracker.observe(ts, judged(f))
            tracker.update(ts)
        (st,) = tracker.status(RESTART + 20)
        # Still this run alone: window 59 (its 595-600 part) and 60, both good.
        assert (tracker.replayed, st.total_windows, st.bad_windows, st.since) == (None, 2, 0, BASE + 590)
    assert tracker.wait(30)
    for ts, f in new[20:]:
        tracker.observe(ts, judged(f))
        tracker.update(ts)
    assert tracker.replayed is not None and tracker.replayed.samples == 595
    everything = SloTracker([SLO])
    for ts, f in old + new:
        everything.observe(ts, judged(f))
    assert same(tracker.status(RESTART + 30), everything.status(RESTART + 30))
    (st,) = tracker.status(RESTART + 30)
    # Windows 0-61: window 59 straddles the restart and is bad by the first run's last second.
    assert (st.total_windows, st.bad_windows, st.since) == (62, 1, BASE)


def test_a_burn_before_the_restart_still_pages_after_it(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite"
    first_run(path, bad_from=RESTART - 60)  # the last minute of the first run was bad
    tracker = ReplayingSloTracker([SLO])
    tracker.start_replay(path, JUDGED_ALIASES, until=RESTART)
    assert tracker.wait(30)
    tracker.observe(RESTART, judged(figures(0)))
    (page,) = tracker.update(RESTART + 1)
    assert (page.id, page.severity) == ("slo:p99", "critical")
    assert tracker.update(RESTART + 2) == []  # raised once, not again


def test_an_alert_raised_before_the_merge_is_not_raised_twice(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite"
    first_run(path, bad_from=RESTART - 60)
    tracker = ReplayingSloTracker([SLO])
    events = []
    with replay_held(path):
        tracker.start_replay(path, JUDGED_ALIASES, until=RESTART)
        for i in range(40):  # this run burns too: the live part alone pages
            tracker.observe(RESTART + i, judged(figures(i, bad=True)))
            events += tracker.update(RESTART + i + 1)
        assert tracker.replayed is None
    assert [e.severity for e in events] == ["critical"]
    assert tracker.wait(30)
    tracker.observe(RESTART + 40, judged(figures(40, bad=True)))
    assert tracker.update(RESTART + 41) == [] and tracker.replayed is not None


def test_an_unreadable_log_leaves_the_live_budget_and_says_why(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "log.sqlite"
    path.write_bytes(b"garbage " * 1000)
    tracker = ReplayingSloTracker([SLO])
    tracker.start_replay(path, JUDGED_ALIASES, until=RESTART)
    assert tracker.wait(30)
    with caplog.at_level(logging.WARNING, "smoothdesk.telemetry.slo_resume"):
        for i in range(25):
            tracker.observe(RESTART + i, judged(figures(i, bad=i < 5)))
    (st,) = tracker.status(RESTART + 25)  # windows 59 (bad), 60 and 61 of this run
    assert (st.total_windows, st.bad_windows, st.since) == (3, 1, BASE + 590)
    assert tracker.replayed is None and "not a database" in tracker.problem
    assert str(path) in caplog.text and "count from this start" in caplog.text
    assert path.read_bytes() == b"garbage " * 1000


def test_a_replay_that_outlasts_its_buffer_is_given_up(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite"
    first_run(path)
    tracker = ReplayingSloTracker([SLO], max_pending=10)
    with replay_held(path):
        tracker.start_replay(path, JUDGED_ALIASES, until=RESTART)
        for i in range(11):
            tracker.observe(RESTART + i, judged(figures(i)))
        assert "given up" in tracker.problem
    tracker.observe(RESTART + 11, judged(figures(11)))
    tracker.wait(30)
    tracker.observe(RESTART + 12, judged(figures(12)))
    (st,) = tracker.status(RESTART + 20)
    assert (tracker.replayed, st.total_windows, st.since) == (None, 2, BASE + 590)
