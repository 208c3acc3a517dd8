"""Alerts as desktop notifications, received by a fake notification server on a private session bus."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from smoothdesk.gui.notifications import DONT_SHOW, SHOW_APPS, AlertGate, Notifier
from smoothdesk.gui.prefs import Prefs, prefs_path
from tests.gui.notify_server import FakeServer, fake_notifications

TIMEOUT = 10_000


def alert(metric: str = "latency_p99_ms", severity: str = "warning") -> dict[str, Any]:
    return {"id": f"{metric}-1", "severity": severity, "metric": metric, "value": 48.0, "threshold": 30.0,
            "message": "Scheduling latency p99 48 ms (warning above 30 ms)", "since": 0.0}  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def server(bus_address: str) -> Iterator[FakeServer]:
    with fake_notifications(bus_address) as srv:
        yield srv


@pytest.fixture
def notifier(bus_address: str) -> Iterator[Notifier]:
    fallback: list[tuple[str, str, str]] = []
    n = Notifier(bus_address, fallback=lambda *a: fallback.append(a), gate=AlertGate(clock=Clock()))
    n.fallen_back = fallback  # type: ignore[attr-defined]
    n.start()
    yield n
    n.stop()


def test_alert_reaches_the_notification_server(qtbot: QtBot, server: FakeServer, notifier: Notifier) -> None:
    with qtbot.waitSignal(notifier.shown, timeout=TIMEOUT):
        assert notifier.notify(alert(severity="critical"))
    (call,) = server.calls
    assert call["app"] == "SmoothDesk"
    assert call["summary"] == "The desktop is slow to respond"
    assert call["body"] == "Scheduling latency p99 48 ms (warning above 30 ms)"
    assert call["actions"] == [SHOW_APPS, "Show applications", DONT_SHOW, "Don't show again"]
    assert call["urgency"] == 2 and call["icon"].endswith("critical.svg")
    assert notifier.fallen_back == []  # type: ignore[attr-defined]


def test_bursts_are_dropped(qtbot: QtBot, server: FakeServer, notifier: Notifier) -> None:
    clock = notifier.gate.clock
    sent = [notifier.notify(alert()) for _ in range(5)]
    assert sent == [True, False, False, False, False]
    sent = [notifier.notify(alert(f"metric{i}")) for i in range(5)]
    assert sent == [True, True, False, False, False]  # at most 3 a minute, whatever the kind
    qtbot.waitUntil(lambda: len(server.calls) == 3, timeout=TIMEOUT)
    clock.now += 61  # type: ignore[attr-defined]
    assert notifier.notify(alert("metric4"))
    assert not notifier.notify(alert())  # that kind was shown under 5 minutes ago
    clock.now += 300  # type: ignore[attr-defined]
    assert notifier.notify(alert())
    qtbot.waitUntil(lambda: len(server.calls) == 5, timeout=TIMEOUT)
    qtbot.wait(200)
    assert len(server.calls) == 5


def test_dont_show_again_is_remembered(
    qtbot: QtBot, server: FakeServer, notifier: Notifier, bus_address: str
) -> None:
    with qtbot.waitSignal(notifier.shown, timeout=TIMEOUT):
        notifier.notify(alert("psi_memory_some_avg10"))
    with qtbot.waitSignal(notifier.hidden, timeout=TIMEOUT) as hidden:
        server.click(server.calls[0]["id"], DONT_SHOW)
    assert hidden.args == ["psi_memory_some_avg10"]
    assert Prefs.load().hidden_alerts == ["psi_memory_some_avg10"]
    assert "psi_memory_some_avg10" in prefs_path().read_text()
    # A fresh notifier (the next login) reads the file: that kind stays quiet, others still show.
    again = Notifier(bus_address, gate=AlertGate())
    again.start()
    try:
        assert not again.notify(alert("psi_memory_some_avg10"))
        with qtbot.waitSignal(again.shown, timeout=TIMEOUT):
            assert again.notify(alert("latency_p99_ms"))
    finally:
        again.stop()
    assert [c["summary"] for c in server.calls] == [
        "Programs are waiting for memory",
        "The desktop is slow to respond",
    ]


def test_other_actions_and_other_senders_hide_nothing(
    qtbot: QtBot, server: FakeServer, notifier: Notifier
) -> None:
    with qtbot.waitSignal(notifier.shown, timeout=TIMEOUT):
        notifier.notify(alert())
    server.click(server.calls[0]["id"], "default")
    server.click(999, DONT_SHOW)
    qtbot.wait(300)
    assert Prefs.load().hidden_alerts == []


def test_without_a_server_the_tray_shows_it(qtbot: QtBot, notifier: Notifier) -> None:
    with qtbot.waitSignal(notifier.shown, timeout=TIMEOUT):
        assert notifier.notify(alert(severity="critical"))
    assert notifier.fallen_back == [  # type: ignore[attr-defined]
        ("The desktop is slow to respond", "Scheduling latency p99 48 ms (warning above 30 ms)", "critical")
    ]


def test_switched_off_in_settings_shows_nothing(qtbot: QtBot, server: FakeServer, notifier: Notifier) -> None:
    Prefs(notifications=False).save()
    assert not notifier.notify(alert())
    qtbot.wait(200)
    assert server.calls == []


def test_show_applications_action(qtbot: QtBot, server: FakeServer, notifier: Notifier) -> None:
    with qtbot.waitSignal(notifier.shown, timeout=TIMEOUT):
        notifier.notify(alert())
    with qtbot.waitSignal(notifier.show_apps, timeout=TIMEOUT):
        server.click(server.calls[0]["id"], SHOW_APPS)
    assert Prefs.load().hidden_alerts == []


BUILD = {
    "id": "tree:1:42", "name": "timeout", "kind": "tree", "class": "normal", "cpu": 98.4, "rss": 2**28,
    "command": ["timeout", "600", "make", "-j8"], "cwd": "/nonexistent-home/src/foo",
    "members": [{"pid": 100 + i, "class": "background", "label": "compiler", "reason": "rule: compiler"}
                for i in range(9)],
}  # fmt: skip


def test_the_app_to_blame_is_named_with_what_is_done(
    qtbot: QtBot, server: FakeServer, notifier: Notifier
) -> None:
    busy = {"id": "cpu_busy_percent", "severity": "critical", "metric": "cpu_busy_percent", "value": 99.0,
            "threshold": 95.0, "message": "CPU busy 99% (critical above 95%)", "since": 0.0}  # fmt: skip
    idle_app = {"id": "tree:1:7", "name": "bash", "kind": "tree", "cpu": 0.5, "command": ["bash"]}
    with qtbot.waitSignal(notifier.shown, timeout=TIMEOUT):
        assert notifier.notify(busy, [idle_app, BUILD])
    (call,) = server.calls
    assert call["summary"] == "CPU is saturated"
    first, figure = call["body"].split("\n")
    assert first.startswith("make -j8 in /nonexistent-home/src/foo (9 compilers) is using 98 % of a core")
    assert first.endswith("— already in background.")
    assert figure == "CPU busy 99% (critical above 95%)"


@pytest.mark.parametrize("severity", ["warning", "critical", "resolved"])
def test_no_identifier_in_any_title(severity: str) -> None:
    from smoothdesk.gui.alert_text import body, headline
    from smoothdesk.telemetry.alerts import CATALOGUE

    metrics = [m for m, *_ in CATALOGUE.values()] + ["disk_used_percent:/home", "some_future_metric"]
    for metric in metrics:
        a = {"metric": metric, "severity": severity, "value": 1.0, "message": f"{metric} = 1"}
        title = headline(a)
        assert re.search(r"[A-Za-z0-9]_[A-Za-z0-9]", title) is None, title
        assert title[0].isupper() and "SmoothDesk" not in title
        assert re.search(r"[A-Za-z0-9]_[A-Za-z0-9]", body(a, [BUILD], lambda _: "make -j8")) is None
    assert headline({"metric": "disk_used_percent:/home", "severity": severity}).startswith("Disk /home")
