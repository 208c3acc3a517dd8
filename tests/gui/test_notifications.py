"""Alerts as desktop notifications, received by a fake notification server on a private session bus."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from smoothdesk.gui.notifications import DONT_SHOW, AlertGate, Notifier
from smoothdesk.gui.prefs import Prefs, prefs_path
from tests.gui.notify_server import FakeServer, fake_notifications

TIMEOUT = 10_000


def alert(metric: str = "latency_p95_ms", severity: str = "warning") -> dict[str, Any]:
    return {"id": f"{metric}-1", "severity": severity, "metric": metric, "value": 48.0, "threshold": 30.0,
            "message": f"{metric} 48 above 30 for 60 s", "since": 0.0}  # fmt: skip


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
    assert call["summary"] == "SmoothDesk: latency_p95_ms critical"
    assert call["body"] == "latency_p95_ms 48 above 30 for 60 s"
    assert call["actions"] == [DONT_SHOW, "Don't show again"]
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
        notifier.notify(alert("psi_memory_some"))
    with qtbot.waitSignal(notifier.hidden, timeout=TIMEOUT) as hidden:
        server.click(server.calls[0]["id"], DONT_SHOW)
    assert hidden.args == ["psi_memory_some"]
    assert Prefs.load().hidden_alerts == ["psi_memory_some"]
    assert "psi_memory_some" in prefs_path().read_text()
    # A fresh notifier (the next login) reads the file: that kind stays quiet, others still show.
    again = Notifier(bus_address, gate=AlertGate())
    again.start()
    try:
        assert not again.notify(alert("psi_memory_some"))
        with qtbot.waitSignal(again.shown, timeout=TIMEOUT):
            assert again.notify(alert("latency_p99_ms"))
    finally:
        again.stop()
    assert [c["summary"] for c in server.calls] == [
        "SmoothDesk: psi_memory_some warning",
        "SmoothDesk: latency_p99_ms warning",
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
        ("SmoothDesk: latency_p95_ms critical", "latency_p95_ms 48 above 30 for 60 s", "critical")
    ]


def test_switched_off_in_settings_shows_nothing(qtbot: QtBot, server: FakeServer, notifier: Notifier) -> None:
    Prefs(notifications=False).save()
    assert not notifier.notify(alert())
    qtbot.wait(200)
    assert server.calls == []
