"""SLO math on known series: judged windows, error budget, burn rates, alerts that fire and clear."""

from __future__ import annotations

from pathlib import Path

import pytest

from smoothdesk.config.errors import ConfigError
from smoothdesk.config.loader import load_settings
from smoothdesk.config.schema import defaults
from smoothdesk.telemetry.slo import Slo, SloTracker, slos_from_settings

M = "latency_p99_ms"
# 1-minute windows, a 6-day period (8640 windows): fast pair 12/1 windows, slow pair 72/6.
SIX_DAYS = 8640 * 60.0


def slo(aggregate: str = "worst", objective: float = 0.99, op: str = "<") -> Slo:
    return Slo("p99", M, op, 4.0, objective, 60.0, SIX_DAYS, aggregate)


def feed_windows(tracker: SloTracker, first: int, bad: list[bool]) -> None:
    """Six samples per window; a bad window has one sample of 5 ms among 1 ms ones."""
    for i, is_bad in enumerate(bad, first):
        for k in range(6):
            tracker.observe(i * 60 + k * 10, {M: 5.0 if is_bad and k == 3 else 1.0})


def test_alert_windows_scale_with_the_budget_period() -> None:
    s = slo()
    assert [s.windows(f) for f in (1 / 720, 1 / 8640, 1 / 120, 1 / 1440)] == [12, 1, 72, 6]
    week = Slo("w", M, "<", 4.0, 0.99, 60.0, 7 * 86400.0)
    assert [week.windows(f) for f in (1 / 720, 1 / 8640, 1 / 120, 1 / 1440)] == [14, 2, 84, 7]


def test_budget_and_burn_rates_on_a_known_series() -> None:
    tracker = SloTracker([slo()])
    feed_windows(tracker, 0, [i in (2, 5) for i in range(10)])
    # At 590 s window 9 is still open: 9 judged windows, 2 bad.
    (st,) = tracker.status(590.0)
    assert (st.total_windows, st.bad_windows) == (9, 2)
    (st,) = tracker.status(600.0)
    assert (st.total_windows, st.bad_windows) == (10, 2)
    assert st.budget_remaining == pytest.approx(1 - 2 / 86.4)  # allowed: 1 % of 8640 windows
    assert st.burn_fast == pytest.approx(2 / 12 / 0.01)
    assert st.burn_slow == pytest.approx(2 / 72 / 0.01)
    assert (st.last_value, st.last_good) == (1.0, True)
    assert st.to_dict()["name"] == "p99"


def test_aggregates_and_operators() -> None:
    values = [1.0, 1.0, 1.0, 1.0, 1.0, 7.0]
    assert slo("worst").judge(values) == (7.0, False)
    assert slo("mean").judge(values) == (2.0, True)
    assert Slo("x", "audio_xruns", "==", 0.0, 0.99, 60, SIX_DAYS).judge([0, 0, 2, 0]) == (2, False)
    assert Slo("s", "score", ">=", 80.0, 0.99, 60, SIX_DAYS).judge([95, 79, 90]) == (79, False)


def test_budget_forgets_windows_older_than_the_period() -> None:
    s = Slo("p", M, "<", 4.0, 0.9, 60.0, 600.0)  # 10 windows, 1 bad allowed
    tracker = SloTracker([s])
    feed_windows(tracker, 0, [True, False])
    (st,) = tracker.status(120.0)
    assert (st.bad_windows, st.budget_remaining) == (1, pytest.approx(0.0))
    (st,) = tracker.status(660.0)  # window 0 is now older than the 10-window period
    assert (st.total_windows, st.bad_windows, st.budget_remaining) == (1, 0, 1.0)


def test_a_fast_burn_pages_and_clears_with_its_short_window() -> None:
    tracker = SloTracker([slo()])
    feed_windows(tracker, 0, [False] * 100)
    assert tracker.update(6000.0) == []
    feed_windows(tracker, 100, [True])
    assert tracker.update(6060.0) == []  # 1 bad in 12: burn 8.3 < 14.4; slow 1.4 < 6
    feed_windows(tracker, 101, [True])
    (page,) = tracker.update(6120.0)  # 2 in 12: 16.7, and the last window bad
    assert (page.id, page.severity, page.threshold, page.since) == ("slo:p99", "critical", 14.4, 6120.0)
    assert page.value == pytest.approx(2 / 12 / 0.01)
    assert page.message == "SLO p99: error budget burning 16.7x (critical at 14.4x over 12m and 1m)"
    assert tracker.alerts(6150.0) == [page.__class__(**{**page.to_dict(), "ts": 6150.0})]
    feed_windows(tracker, 102, [False])
    (resolved,) = tracker.update(6180.0)  # the short window is good again; slow 2/72 = 2.8 < 6
    assert (resolved.severity, resolved.since) == ("resolved", 6120.0)
    assert tracker.alerts(6180.0) == []


def test_a_slow_burn_warns_while_its_short_window_sees_bad_windows() -> None:
    tracker = SloTracker([slo()])
    transitions = []
    for i in range(90):
        feed_windows(tracker, i, [i % 13 == 0])
        transitions += [(i + 1, ev.severity) for ev in tracker.update((i + 1) * 60.0)]
    # 5 bad in 72 windows (6.9 >= 6) first at window 52; never 2 bad in 12 windows, so never critical.
    assert transitions == [
        (53, "warning"),
        (59, "resolved"),
        (66, "warning"),
        (72, "resolved"),
        (79, "warning"),
        (85, "resolved"),
    ]


def test_windows_without_samples_count_neither_way() -> None:
    tracker = SloTracker([slo()])
    tracker.observe(30.0, {"score": 50.0})
    tracker.observe(90.0, {M: float("nan")})
    (st,) = tracker.status(600.0)
    assert (st.total_windows, st.bad_windows, st.budget_remaining) == (0, 0, 1.0)


def test_default_slos() -> None:
    names = {s.name: s for s in slos_from_settings(defaults())}
    assert set(names) == {"sched-p99", "no-xruns", "cpu-psi", "focus-wait"}
    p99 = names["sched-p99"]
    assert (p99.metric, p99.op, p99.threshold, p99.objective, p99.window_s) == (M, "<", 4.0, 0.99, 60.0)
    assert names["no-xruns"].op == "=="
    wait = names["focus-wait"]
    assert (wait.metric, wait.op, wait.threshold) == ("focus_cpu_wait_max_ms", "<", 10.0)
    assert wait.objective == 0.99


GOOD = 'name = "a"\nmetric = "latency_p99_ms"\nop = "<"\nthreshold = 4\n'
GOOD_B = GOOD.replace('"a"', '"b"')


def test_slos_from_a_config_file_replace_the_defaults(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f"[[slo]]\n{GOOD}\n[[slo]]\n{GOOD_B}window = '5m'\nbudget_period = '1d'\n")
    a, b = slos_from_settings(load_settings([], cfg))
    assert (a.name, a.window_s, a.budget_period_s, a.source) == ("a", 60.0, 7 * 86400.0, f"{cfg}:1")
    assert (b.name, b.window_s, b.budget_period_s, b.source) == ("b", 300.0, 86400.0, f"{cfg}:7")


@pytest.mark.parametrize(
    ("body", "line", "needle"),
    [
        ("[[slo]]\nname = 'a'\nmetric = 'latency_p99_ms'\nthreshold = 4\n", 1, "[[slo]] 'a': op is required"),
        (f"[[slo]]\n{GOOD}\n[[slo]]\n{GOOD_B.replace('<', '~')}", 10, "'b': op: must be one of"),
        (f"[[slo]]\n{GOOD}window = '1 minute'\n", 6, "window: '1 minute' is not a duration"),
        (f"[[slo]]\n{GOOD}objective = 1.0\n", 6, "objective: must be <= 0.99999"),
        (f"[[slo]]\n{GOOD}budget_period = '90s'\n", 6, "budget_period: must be a whole number of windows"),
        (f"[[slo]]\n{GOOD}colour = 'red'\n", 6, "unknown key 'colour'"),
        (f"[[slo]]\n{GOOD}[[slo]]\n{GOOD}", 7, "a second slo with this name"),
        (f"[[slo]]\n{GOOD.replace('latency_p99_ms', 'latency')}", 3, "metric: must be one of"),
        ("[slo]\nname = 'a'\n", 1, "write each slo as a [[slo]] table"),
    ],
)
def test_bad_slo_config_names_file_line_and_key(tmp_path: Path, body: str, line: int, needle: str) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text(body)
    with pytest.raises(ConfigError) as info:
        load_settings([], cfg)
    assert str(info.value).startswith(f"{cfg}:{line}: ")
    assert needle in str(info.value)
