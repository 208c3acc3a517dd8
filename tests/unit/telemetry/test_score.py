"""The responsiveness score: known values from the documented formula, and monotonicity."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smoothdesk.telemetry.latency import LatencyWindow
from smoothdesk.telemetry.score import responsiveness_score


def window(p99_ms: float) -> LatencyWindow:
    return LatencyWindow(500, 0, p99_ms / 4, p99_ms / 2, p99_ms, p99_ms * 2, 1.0, 2.0)


@pytest.mark.parametrize(
    ("inputs", "expected"),
    [
        ((None, None, None, None, None), 100.0),
        ((window(0.2), 1.0, 0.0, 0.0, 0), 100.0),
        ((window(1.0), 5.0, 0.0, 0.0, 0), 100.0),
        # p99 10.5 ms is half-way up 1..20 ms: 1 - 0.6 * 0.5
        ((window(10.5), 0.0, 0.0, 0.0, 0), 70.0),
        ((window(20.0), None, None, None, None), 40.0),
        ((window(500.0), None, None, None, None), 40.0),
        # CPU some 32.5 % is half-way up 5..60 %: 1 - 0.4 * 0.5
        ((None, 32.5, None, None, None), 80.0),
        ((None, None, 10.0, None, None), 65.0),
        ((None, None, None, 40.0, None), 60.0),
        ((None, None, None, None, 2), 75.0),
        # Everything at its worst: 100 * 0.4 * 0.6 * 0.3 * 0.6 * 0.5
        ((window(99.0), 100.0, 100.0, 100.0, 9), 2.16),
        ((window(10.5), 32.5, None, None, 2), 100 * 0.7 * 0.8 * 0.75),
    ],
)
def test_known_values(inputs: tuple[LatencyWindow | None, float, float, float, int], expected: float) -> None:
    assert responsiveness_score(*inputs) == pytest.approx(expected)


def test_nan_psi_counts_as_not_measured() -> None:
    assert responsiveness_score(None, float("nan"), None, None, None) == 100.0


finite = st.floats(min_value=0.0, max_value=1000.0, allow_nan=False)
maybe = st.none() | finite
inputs = st.tuples(maybe, maybe, maybe, maybe, st.none() | st.integers(0, 50))
deltas = st.tuples(finite, finite, finite, finite, st.integers(0, 50))


@given(inputs, deltas)
def test_worse_inputs_never_raise_the_score(
    base: tuple[float | None, float | None, float | None, float | None, int | None],
    delta: tuple[float, float, float, float, int],
) -> None:
    def worse(value: float | None, d: float) -> float | None:
        return None if value is None else value + d

    lat, cpu, mem, io, xr = base
    before = responsiveness_score(None if lat is None else window(lat), cpu, mem, io, xr)
    worse_lat = worse(lat, delta[0])
    after = responsiveness_score(
        None if worse_lat is None else window(worse_lat),
        worse(cpu, delta[1]),
        worse(mem, delta[2]),
        worse(io, delta[3]),
        None if xr is None else xr + delta[4],
    )
    assert 0.0 <= after <= before <= 100.0


@given(inputs)
def test_a_measured_value_never_scores_above_an_unmeasured_one(
    base: tuple[float | None, float | None, float | None, float | None, int | None],
) -> None:
    lat, cpu, mem, io, xr = base
    measured = responsiveness_score(None if lat is None else window(lat), cpu, mem, io, xr)
    assert measured <= responsiveness_score(None, cpu, mem, io, xr)
    assert measured <= responsiveness_score(None if lat is None else window(lat), None, None, None, None)


@pytest.mark.parametrize(
    ("p99", "app_wait", "expected"),
    [
        (None, 10.5, 70.0),  # the apps' worst wait alone drives the latency term
        (None, None, 100.0),  # nobody measured: not penalised
        (10.5, 1.0, 70.0),  # the worse of the two ...
        (1.0, 10.5, 70.0),
        (20.0, 20.0, 40.0),  # ... counted once: a storm both see is not penalised twice
        (None, 0.0, 100.0),  # a focused app that waited 0 ms
    ],
)
def test_apps_wait_and_sampler_are_one_latency_input(
    p99: float | None, app_wait: float | None, expected: float
) -> None:
    w = None if p99 is None else window(p99)
    assert responsiveness_score(w, None, None, None, None, app_wait_ms=app_wait) == pytest.approx(expected)
