"""The metrics ring: bounded to an hour at the tick rate, filtered by age."""

from __future__ import annotations

from pathlib import Path

from smoothdesk.collector.tracker import ProcessTable
from smoothdesk.helper.history import History


def test_ring_is_bounded_and_filters_by_time() -> None:
    snapshot = ProcessTable(Path("/")).tick(0.0)
    history = History(tick_seconds=1.0, keep_seconds=10.0)
    for t in range(25):
        history.record(snapshot, 0, 0.002, wall=1000.0 + t)
    assert len(history.samples) == 10
    recent = history.since(3.5, now=1024.0)
    assert [s["time"] for s in recent] == [1021.0, 1022.0, 1023.0, 1024.0]
    assert recent[-1]["tick_cost_ms"] == 2.0 and recent[-1]["mem_available"] > 0
    assert History(tick_seconds=1.0).samples.maxlen == 3600
