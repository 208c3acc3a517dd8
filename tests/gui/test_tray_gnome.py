"""A GNOME-like session with no StatusNotifierWatcher: one notification, the dashboard, a launcher entry."""

from __future__ import annotations

import asyncio
import configparser
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from smoothdesk.gui import tray_fallback
from smoothdesk.gui.shell import TrayApp
from smoothdesk.gui.tray_fallback import PACKAGE, WATCHER
from tests.gui.conftest import UserHelper
from tests.gui.notify_server import FakeServer, fake_notifications
from tests.support.kwin import missing_tools as kwin_missing
from tests.support.tools import needs

TIMEOUT = 20_000


@pytest.fixture
def gnome_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, user_dirs: Path) -> Path:
    data = tmp_path / "data"
    monkeypatch.setenv("XDG_CURRENT_DESKTOP", "GNOME")
    monkeypatch.setenv("XDG_SESSION_TYPE", "wayland")
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    monkeypatch.setenv("XDG_DATA_DIRS", str(tmp_path / "system-data"))  # no packaged entry there
    return data


@pytest.fixture
def server(bus_address: str) -> Iterator[FakeServer]:
    with fake_notifications(bus_address) as srv:
        yield srv


def start(bus: str, notify_bus: str) -> TrayApp:
    app = TrayApp(bus, agent=False, notify_bus=notify_bus)
    app.start(offer_start=False)
    return app


def test_gnome_without_a_tray_notifies_once_opens_the_dashboard_and_adds_a_launcher(
    qtbot: QtBot, gnome_env: Path, server: FakeServer, bus_address: str, user_helper: UserHelper
) -> None:
    app = start(user_helper.bus, bus_address)
    try:
        assert app.tray_missing
        qtbot.waitUntil(lambda: len(server.calls) == 1, timeout=TIMEOUT)
        (call,) = server.calls
        assert call["summary"] == "SmoothDesk cannot show its tray icon"
        assert PACKAGE in call["body"] and "AppIndicator" in call["body"]
        dashboard = app.tray.windows["dashboard"]
        assert dashboard.isVisible() and dashboard.isWindow()
        entry = configparser.RawConfigParser(interpolation=None)
        entry.read(gnome_env / "applications/smoothdesk.desktop")
        assert entry["Desktop Entry"]["Name"] == "SmoothDesk"
        # The entry runs the tray app itself, however the test runner was started.
        program = entry["Desktop Entry"]["Exec"].split()[0]
        assert Path(program).name in ("smoothdesk", Path(sys.executable).name), program
        assert os.access(program, os.X_OK), program
        qtbot.wait(300)
        assert len(server.calls) == 1  # one notification, not one per check
    finally:
        app.stop()
        for window in app.tray.windows.values():
            window.close()


def test_an_installed_launcher_entry_is_left_alone(gnome_env: Path, tmp_path: Path) -> None:
    packaged = tmp_path / "system-data/applications/smoothdesk.desktop"
    packaged.parent.mkdir(parents=True)
    packaged.write_text("[Desktop Entry]\nType=Application\nName=SmoothDesk\nExec=smoothdesk\n")
    assert (
        tray_fallback.ensure_launcher(
            {"XDG_DATA_HOME": str(gnome_env), "XDG_DATA_DIRS": str(packaged.parents[1])}
        )
        is None
    )
    assert not (gnome_env / "applications/smoothdesk.desktop").exists()


def test_with_a_status_notifier_watcher_nothing_falls_back(
    qtbot: QtBot, gnome_env: Path, server: FakeServer, bus_address: str, user_helper: UserHelper
) -> None:
    async def own() -> object:
        from dbus_fast.aio import MessageBus

        bus = await MessageBus(bus_address=bus_address).connect()
        await bus.request_name(WATCHER)
        return bus

    loop = asyncio.new_event_loop()
    watcher = loop.run_until_complete(own())
    try:
        app = start(user_helper.bus, bus_address)
        try:
            assert not app.tray_missing
            qtbot.wait(300)
            assert server.calls == [] and "dashboard" not in app.tray.windows
            assert not (gnome_env / "applications/smoothdesk.desktop").exists()
        finally:
            app.stop()
    finally:
        watcher.disconnect()  # type: ignore[attr-defined]
        loop.run_until_complete(watcher.wait_for_disconnect())  # type: ignore[attr-defined]
        loop.close()


@needs(kwin_missing(), "the tray's KWin install test")
def test_the_tray_menu_installs_the_kwin_script(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, user_helper: UserHelper
) -> None:
    from smoothdesk.gui.connection import HelperConnection
    from smoothdesk.gui.tray import Tray
    from tests.support.kwin import kwinsession

    with kwinsession(install=False) as k:
        for key, value in k.env.items():
            monkeypatch.setenv(key, value)
        tray = Tray(HelperConnection(user_helper.bus))
        needed = [True]
        tray.focus_integration = lambda: needed[0]
        tray.sync_menu()
        assert tray.actions["integration"].isVisible()
        box = tray.install_integration()
        assert "loaded" in box.text() and "into the running KWin" in box.text(), box.text()
        assert k.script_loaded("smoothdesk-focus")
        needed[0] = False
        tray.sync_menu()
        assert not tray.actions["integration"].isVisible()
        box.close()


def test_the_tray_says_why_when_there_is_nothing_to_install(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, user_helper: UserHelper, tmp_path: Path
) -> None:
    from smoothdesk.gui.connection import HelperConnection
    from smoothdesk.gui.tray import Tray

    monkeypatch.setenv("XDG_CURRENT_DESKTOP", "sway")
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path}/no-bus")
    box = Tray(HelperConnection(user_helper.bus)).install_integration()
    assert "neither GNOME Shell nor KWin runs in this session" in box.text()
    assert "X11 and sway need no integration" in box.text()
    box.close()
