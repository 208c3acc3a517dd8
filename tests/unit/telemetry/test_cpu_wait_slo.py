"""The default focus-wait SLO over a real snapshot log: replayed, rolled up, and over ticks logged
before the figure existed (or with no focus source), which count neither way."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from smoothdesk.config.schema import defaults
from smoothdesk.helper.samples import JUDGED_ALIASES, judged
from smoothdesk.telemetry.slo import Slo, SloStatus, SloTracker, slos_from_settings
from smoothdesk.telemetry.slo_replay import replay
from smoothdesk.telemetry.store import SnapshotStore

START = 1_700_000_000.0 - 1_700_000_000.0 % 3600  # a whole hour
FOCUS_WAIT = next(s for s in slos_from_settings(defaults()) if s.name == "focus-wait")


def figures(i: int) -> dict[str, float]:
    """Second i: minutes 0-9 as an older helper logged them (no wait figures at all), 10-19 with a
    focused app (one tick of minute 15 waited 30 ms), 20-29 with the agent gone (none again)."""
    out = {"cpu_busy": 20.0, "psi_cpu_some": 1.0, "latency_p99_ms": 1.0, "score": 95.0}
    if 600 <= i < 1200:
        worst = 30.0 if i == 15 * 60 + 7 else 2.0
        out |= {"focus_cpu_wait_ms": 5.0, "focus_cpu_wait_max_ms": worst, "focus_cpu_wait_pct": 0.5}
    return out


TICKS = [(START + i, figures(i)) for i in range(1800)]


def live(slos: Sequence[Slo], now: float) -> list[SloStatus]:
    tracker = SloTracker(slos)
    for ts, numbers in TICKS:
        tracker.observe(ts, judged(numbers))
    return tracker.status(now)


def test_the_default_focus_wait_slo_counts_only_measured_minutes_and_survives_rollup(tmp_path: Path) -> None:
    assert (FOCUS_WAIT.metric, FOCUS_WAIT.op, FOCUS_WAIT.threshold) == ("focus_cpu_wait_max_ms", "<", 10.0)
    path = tmp_path / "snapshots.sqlite"
    store = SnapshotStore.open(path, raw_s=None, max_age_s=10**9)
    for ts, numbers in TICKS:
        store.write_tick(ts, numbers, [], [], [])
    store.close()
    until = START + 1800
    (expected,) = live([FOCUS_WAIT], until)
    assert (expected.total_windows, expected.bad_windows) == (10, 1), expected
    (raw,) = replay(path, [FOCUS_WAIT], until=until, aliases=JUDGED_ALIASES).tracker.status(until)
    assert repr(raw) == repr(expected)

    # Raw ticks older than 10 minutes fold into per-minute rollups: the same windows, the same verdicts.
    store = SnapshotStore.open(path, raw_s=600.0, max_age_s=10**9)
    result = store.enforce_retention(now=until)
    store.close()
    assert result.rolled_up_minutes == 20
    replayed = replay(path, [FOCUS_WAIT], until=until, aliases=JUDGED_ALIASES)
    assert replayed.minutes == 20
    (rolled,) = replayed.tracker.status(until)
    assert (rolled.total_windows, rolled.bad_windows) == (10, 1)
    assert rolled.budget_remaining == expected.budget_remaining
    older = SloTracker([FOCUS_WAIT])
    for ts, numbers in TICKS[:600]:
        older.observe(ts, judged(numbers))
    (before,) = older.status(START + 600)
    assert before.total_windows == 0 and math.isnan(before.last_value), "no figure: nothing judged"
