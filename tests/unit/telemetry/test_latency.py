"""Window statistics of probe wake-ups: nearest-rank percentiles and missed deadlines."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smoothdesk.config.schema import SAMPLE_METRICS
from smoothdesk.telemetry.latency import percentile, stalled, summarize

MS = 1_000_000


def test_percentiles_of_a_known_series() -> None:
    # 1..100 ms: nearest rank puts p50 at the 50th value, p95 at the 95th, p99 at the 99th.
    w = summarize([n * MS for n in range(100, 0, -1)], 2 * MS, 1.0)
    assert w is not None
    assert (w.p50_ms, w.p95_ms, w.p99_ms, w.max_ms) == (50.0, 95.0, 99.0, 100.0)
    assert w.count == 100
    assert w.interval_ms == 2.0
    assert w.sample()["latency_p99_ms"] == 99.0
    assert set(w.sample()) <= set(SAMPLE_METRICS)


def test_missed_wakes_are_the_deadlines_a_late_wake_skipped() -> None:
    # 2 ms interval: 1.9 ms late skips none, 2 ms skips one, 7 ms skips three.
    w = summarize([0, 1_900_000, 2 * MS, 7 * MS], 2 * MS, 0.02)
    assert w is not None
    assert w.missed == 4
    assert w.count == 4


def test_empty_window_is_none_and_bad_interval_rejected() -> None:
    assert summarize([], 2 * MS, 1.0) is None
    with pytest.raises(ValueError, match="interval"):
        summarize([1], 0, 1.0)
    with pytest.raises(ValueError, match="no samples"):
        percentile([], 50)


@given(st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=300))
def test_percentiles_are_ordered_samples(samples: list[int]) -> None:
    w = summarize(samples, 2 * MS, 1.0)
    assert w is not None
    assert min(samples) / MS <= w.p50_ms <= w.p95_ms <= w.p99_ms <= w.max_ms == max(samples) / MS
    assert round(w.p99_ms * MS) in samples


def test_a_stall_is_reported_as_the_silence_not_as_no_data() -> None:
    w = stalled(0.75, 4 * MS, 1.0)
    assert w.count == 0
    assert w.missed == 187  # 750 ms / 4 ms, rounded down
    assert w.p50_ms == w.p99_ms == w.max_ms == 750.0
    assert w.sample()["latency_p99_ms"] == 750.0
    with pytest.raises(ValueError, match="interval"):
        stalled(1.0, 0, 1.0)
