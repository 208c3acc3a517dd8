"""A real helper's Alert signal becomes a desktop notification through the whole tray app."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from smoothdesk.config.schema import ALERT_THRESHOLDS
from smoothdesk.gui.shell import TrayApp
from tests.gui.conftest import UserHelper
from tests.gui.notify_server import fake_notifications

# Memory available is always below 99.9 % of RAM: a warning the helper raises on its first ticks.
# Every other alert is out of reach: a loaded machine (CPU busy, pressure) must not add its own.
ALWAYS_ALERT = (
    "[alerts]\nmemory_available_warning = 99.9\nmemory_available_critical = 0.1\nraise_after = 0.0\n"
    + "".join(
        f"{key}_warning = 1e9\n{key}_critical = 1e9\n"
        for key, *_ in ALERT_THRESHOLDS
        if key != "memory_available"
    )
)


def test_helper_alert_is_notified_once(qtbot: QtBot, bus_address: str, tmp_path: Path) -> None:
    helper = UserHelper(bus_address, tmp_path, extra_config=ALWAYS_ALERT)
    app = TrayApp(bus_address, agent=False, notify_bus=bus_address)
    try:
        helper.start()
        with fake_notifications(bus_address) as server:
            app.start(offer_start=False)
            qtbot.waitUntil(lambda: bool(server.calls), timeout=30_000)
            qtbot.wait(1500)  # a repeat within the rate-limit window must not show again
            summaries = [c["summary"] for c in server.calls]
            bodies = [c["body"] for c in server.calls]
            app.stop()
        assert summaries == ["Memory is running low"], summaries
        # The app to blame uses the most memory of those running (this test's own python, or
        # another's); the helper's figure follows, in words.
        assert " is using " in bodies[0] and "Memory available" in bodies[0], bodies
    finally:
        helper.stop()
