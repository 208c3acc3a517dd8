"""The tick's latency figures: a starved probe counts as the worst latency, not as missing data."""

from __future__ import annotations

from pathlib import Path

from smoothdesk.collector.tracker import ProcessTable
from smoothdesk.helper import samples
from smoothdesk.telemetry.latency import stalled, summarize

MS = 1_000_000


def test_a_stalled_window_reaches_the_sample_and_sinks_the_score() -> None:
    snapshot = ProcessTable(Path("/")).tick(0.0)
    smooth = summarize([50_000] * 250, 4 * MS, 1.0)
    stall = stalled(0.9, 4 * MS, 1.0)
    assert samples.latency_figures(None) == {}
    figures = samples.latency_figures(stall)
    assert figures["latency_p99_ms"] == 900.0
    assert figures["latency_missed"] == 225.0
    assert samples.score(stall, snapshot) < samples.score(smooth, snapshot)
    assert samples.score(stall, snapshot) < samples.score(None, snapshot)
