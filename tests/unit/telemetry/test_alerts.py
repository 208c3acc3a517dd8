"""Threshold alerts: hysteresis against flapping, escalation, resolution, thresholds from config."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

import pytest

from smoothdesk.config.errors import ConfigError
from smoothdesk.config.loader import load_settings
from smoothdesk.config.schema import defaults
from smoothdesk.telemetry.alerts import AlertEngine, AlertEvent, AlertSettings

MEM = "psi_memory_some_avg10"


def engine(**kw: float) -> AlertEngine:
    base = AlertSettings.from_settings(defaults())  # memory pressure: warning 10, critical 30
    return AlertEngine(replace(base, **{"raise_after": 5.0, "clear_after": 30.0, **kw}))


def feed(
    e: AlertEngine, start: float, values: Iterable[float], metric: str = MEM
) -> list[tuple[float, AlertEvent]]:
    """One sample a second from `start`; the events with the time they came out."""
    out = []
    for i, v in enumerate(values):
        out += [(start + i, ev) for ev in e.update(start + i, {metric: v})]
    return out


def test_raised_only_after_holding_and_with_a_readable_message() -> None:
    e = engine()
    events = feed(e, 0, [12] * 10)
    assert [(t, ev.severity) for t, ev in events] == [(5, "warning")]
    ev = events[0][1]
    assert (ev.id, ev.metric, ev.value, ev.threshold, ev.since) == (MEM, MEM, 12.0, 10.0, 0.0)
    assert ev.message == "Memory pressure 12% (warning above 10%)"
    assert [a.severity for a in e.active()] == ["warning"]


def test_no_flapping_around_the_threshold() -> None:
    e = engine()
    # Crossing the line every other second never holds for 5 s, so nothing is raised...
    assert feed(e, 0, [9, 11] * 50) == []
    # ...and once raised, dipping under the threshold but not under its margin (9.5) clears nothing,
    # nor do dips under the margin that do not hold for 30 s.
    assert [ev.severity for _, ev in feed(e, 100, [12] * 6)] == ["warning"]
    assert feed(e, 106, [9.7, 10.3] * 50) == []
    assert feed(e, 206, [5, 11] * 50) == []
    assert feed(e, 306, [5] * 30) == []  # under the margin from t=306: 29 s at t=335
    resolved = feed(e, 336, [5] * 5)
    assert [(t, ev.severity) for t, ev in resolved] == [(336, "resolved")]
    assert resolved[0][1].message == "Memory pressure back to 5% (resolved)"
    assert resolved[0][1].since == 99  # the last 11 of the oscillation ran on into the 12s
    assert e.active() == []


def test_escalates_to_critical_then_steps_down_and_resolves() -> None:
    e = engine()
    events = feed(e, 0, [12] * 10 + [35] * 10 + [20] * 40 + [2] * 40)
    assert [(t, ev.severity, ev.threshold) for t, ev in events] == [
        (5, "warning", 10.0),
        (15, "critical", 30.0),  # 35 from t=10, held 5 s
        (50, "warning", 10.0),  # under 28.5 from t=20, held 30 s
        (90, "resolved", 10.0),  # under 9.5 from t=60, held 30 s
    ]
    assert events[1][1].message == "Memory pressure 35% (critical above 30%)"
    assert {ev.since for _, ev in events} == {0.0}


def test_a_jump_straight_past_critical_raises_critical() -> None:
    events = feed(engine(), 0, [50] * 6)
    assert [(t, ev.severity) for t, ev in events] == [(5, "critical")]


def test_memory_available_alerts_when_it_falls() -> None:
    e = engine(raise_after=0)
    events = feed(e, 0, [50, 8, 4], metric="memory_available_percent")
    assert [ev.message for _, ev in events] == [
        "Memory available 8% (warning below 10%)",
        "Memory available 4% (critical below 5%)",
    ]


def test_active_alert_keeps_the_current_value() -> None:
    e = engine()
    feed(e, 0, [12] * 6 + [14])
    (active,) = e.active()
    assert active.value == 14.0
    assert active.severity == "warning"


def test_each_filesystem_alerts_alone_and_an_unmounted_one_resolves() -> None:
    e = engine(raise_after=0, clear_after=10)
    events = e.update(0, {"disk_used_percent:/home": 95.0, "disk_used_percent:/": 40.0})
    assert [(ev.id, ev.message) for ev in events] == [
        ("disk_used_percent:/home", "Disk used /home 95% (warning above 90%)")
    ]
    assert e.update(5, {"disk_used_percent:/": 40.0}) == []
    (gone,) = e.update(10, {"disk_used_percent:/": 40.0})
    assert (gone.severity, gone.message) == ("resolved", "Disk used /home no longer measured (resolved)")
    assert e.active() == []


def test_unknown_and_missing_figures_are_ignored() -> None:
    e = engine(raise_after=0)
    assert e.update(0, {"bogus": 1e9, MEM: float("nan")}) == []
    assert e.active() == []


def test_plain_data_for_dbus() -> None:
    (ev,) = engine(raise_after=0).update(0, {"latency_p99_ms": 60.0})
    d = ev.to_dict()
    assert d["message"] == "Scheduling latency p99 60 ms (critical above 50 ms)"
    assert set(d) == {"id", "severity", "metric", "value", "threshold", "message", "since", "ts"}
    assert all(type(v) in (str, float) for v in d.values())


def test_thresholds_and_timing_come_from_config(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[alerts]\npsi_memory_warning = 5\npsi_memory_critical = 8\nraise_after = 2\n")
    e = AlertEngine(AlertSettings.from_settings(load_settings([], cfg)))
    events = feed(e, 0, [6, 6, 6, 9, 9, 9])
    assert [(t, ev.severity, ev.threshold) for t, ev in events] == [(2, "warning", 5.0), (5, "critical", 8.0)]


def test_critical_on_the_wrong_side_of_warning_names_the_file(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[alerts]\nmemory_available_critical = 20\n")
    with pytest.raises(ConfigError, match=rf"^{cfg}: alerts.memory_available_critical 20 is above the warn"):
        AlertSettings.from_settings(load_settings([], cfg))


def test_disk_alert_from_the_collector_figures(tmp_path: Path) -> None:
    from smoothdesk.collector.diskspace import disk_usage

    mounts = tmp_path / "mounts"
    mounts.write_text("proc /proc proc rw 0 0\ntmpfs /dev/shm tmpfs rw 0 0\n/dev/vda / ext4 rw 0 0\n")
    usage = disk_usage(mounts)
    assert list(usage) == ["/"]
    st = os.statvfs("/")
    used = st.f_blocks - st.f_bfree
    assert usage["/"] == pytest.approx(100 * used / (used + st.f_bavail), abs=1.0)
    e = engine(raise_after=0)
    level = "critical" if usage["/"] > 97 else "warning" if usage["/"] > 90 else None
    events = e.update(0, {f"disk_used_percent:{m}": v for m, v in usage.items()})
    assert [(ev.id, ev.severity) for ev in events] == ([("disk_used_percent:/", level)] if level else [])


def test_the_focused_apps_cpu_wait_alerts_and_its_absence_does_not() -> None:
    e = engine(raise_after=2.0)
    events = feed(e, 0, [150.0] * 4, metric="focus_cpu_wait_ms")
    assert [(t, ev.severity) for t, ev in events] == [(2, "warning")]
    assert events[0][1].message == "CPU wait of the focused app 150 ms/s (warning above 100 ms/s)"
    quiet = engine(raise_after=0.0)
    # No focus source: the figure is missing from the sample, which raises nothing.
    assert [quiet.update(t, {"cpu_busy_percent": 10.0}) for t in range(5)] == [[]] * 5
