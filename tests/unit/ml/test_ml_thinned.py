"""The trainer on a thinned log: five generated days rolled up past one day still give rows for all
five days, each a row of the full log with the label it had there."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from smoothdesk.ml.training.dataset import Dataset, load
from smoothdesk.ml.training.labels import attention_labels
from smoothdesk.ml.training.trace import DAY, DEFAULT_START, write_trace
from smoothdesk.telemetry.store import SnapshotStore

TICK_S = 20.0  # the generator's detail tick; the log keeps one in three past raw_s


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, float]:
    tmp = tmp_path_factory.mktemp("thinned")
    full, thinned = tmp / "full.sqlite", tmp / "thinned.sqlite"
    write_trace(full, seed=4, days=5, tick_s=TICK_S)
    shutil.copy(full, thinned)
    store = SnapshotStore.open(thinned, raw_s=DAY, max_age_s=7 * DAY, max_bytes=2**40)
    try:
        now = store.samples(0)[-1]["time"] + 1
        result = store.enforce_retention(now=now)
    finally:
        store.close()
    assert result.rolled_up_minutes > 1000 and result.raw_cutoff is not None
    return full, thinned, result.raw_cutoff


def by_key(data: Dataset) -> dict[tuple[float, str], tuple[object, int]]:
    return {(r.ts, r.group_id): (r, int(y)) for r, y in zip(data.rows, data.labels, strict=True)}


def test_a_thinned_week_keeps_every_day_and_its_labels(logs: tuple[Path, Path, float]) -> None:
    full, thinned, cutoff = logs
    whole, _ = load(full)
    thin, problems = load(thinned)
    assert problems == []
    day = Counter(int((r.ts - DEFAULT_START) // DAY) for r in thin.rows)
    assert sorted(day) == [0, 1, 2, 3, 4]
    old = [r for r in thin.rows if r.ts < cutoff]
    assert 0 < len(old) < 0.4 * sum(1 for r in whole.rows if r.ts < cutoff)  # thinned, about 1 in 3
    # Every minute that had rows still has them, from one tick.
    minutes = Counter(int(r.ts // 60) for r in {(r.ts, r.group_id): r for r in old}.values())
    assert set(minutes) == {int(r.ts // 60) for r in whole.rows if r.ts < cutoff}
    assert len({(int(r.ts // 60), r.ts) for r in old}) == len(minutes)
    # Each kept row is the full log's row, with the full log's label.
    reference = by_key(whole)
    kept = by_key(thin)
    assert all(reference[key] == value for key, value in kept.items())
    old_labels = [y for (ts, _), (_, y) in kept.items() if ts < cutoff]
    assert 50 < sum(old_labels) < len(old_labels)  # both labels occur, so the comparison can fail


def test_a_span_labels_its_first_rows_from_holds_begun_before_it(logs: tuple[Path, Path, float]) -> None:
    full, _, _ = logs
    span, _ = load(full, since="30h")
    start = min(r.ts for r in span.rows)
    reference = by_key(load(full)[0])
    assert all(reference[key] == value for key, value in by_key(span).items())
    # The rule the fix guards: the events from `start` alone would miss holds begun before it.
    store = SnapshotStore.open(full, max_age_s=float("inf"), max_bytes=2**62)
    try:
        clipped = attention_labels(span.rows, store.focus_events(start))
    finally:
        store.close()
    assert sum(clipped) < span.positives
