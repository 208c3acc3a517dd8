"""The starter dialog starts a real user-mode helper; the settings pages load and save for real."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from smoothdesk.gui import autostart
from smoothdesk.gui.connection import HelperConnection
from smoothdesk.gui.prefs import Prefs, PrefsError, prefs_path
from smoothdesk.gui.settings import SettingsDialog
from smoothdesk.gui.starter import StarterDialog, helper_command
from tests.gui.conftest import UserHelper

TIMEOUT = 30_000


def test_starter_dialog_starts_a_user_mode_helper(qtbot: QtBot, bus_address: str, tmp_path: Path) -> None:
    conn = HelperConnection(bus_address)
    with qtbot.waitSignal(conn.disconnected, timeout=TIMEOUT) as down:
        conn.start()
    assert "not running" in down.args[0]
    spec = UserHelper(bus_address, tmp_path)  # its config, run dir and --dry-run, not its process
    dialog = StarterDialog(bus_address, extra_args=spec.options())
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.command == [*helper_command(bus_address), *spec.options()]
    assert dialog.command[-1] == "--dry-run" and "--user" in dialog.command
    statuses: list[dict[str, object]] = []
    conn.status.connect(statuses.append)
    try:
        with qtbot.waitSignals([dialog.started, conn.connected], timeout=TIMEOUT):
            qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
        assert statuses[-1]["mode"] == "user"
        assert dialog.process is not None and statuses[-1]["pid"] == dialog.process.pid
        assert not dialog.isVisible()
    finally:
        conn.stop()
        if dialog.process is not None and dialog.process.poll() is None:
            dialog.process.send_signal(signal.SIGTERM)
            assert dialog.process.wait(timeout=30) == 0


def test_starter_reports_a_helper_that_dies(qtbot: QtBot, bus_address: str) -> None:
    dialog = StarterDialog(bus_address, extra_args=["--tick", "999"])  # refused: out of range
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.failed, timeout=TIMEOUT) as failed:
        qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    assert "exited with status 2" in failed.args[0] and "--tick" in failed.args[0]


def test_settings_pages_save_autostart_notifications_and_bus(qtbot: QtBot, user_dirs: Path) -> None:
    Prefs(hidden_alerts=["latency_p95_ms"]).save()
    dialog = SettingsDialog()
    qtbot.addWidget(dialog)
    assert [p.NAME for p in dialog.pages] == ["autostart", "notifications", "bus"]
    notes = dialog.page("notifications")
    assert notes.hidden.count() == 1  # type: ignore[attr-defined]
    dialog.page("autostart").enabled.setChecked(True)  # type: ignore[attr-defined]
    notes.enabled.setChecked(False)  # type: ignore[attr-defined]
    notes.unhide.click()  # type: ignore[attr-defined]
    dialog.page("bus").bus.setText("session")  # type: ignore[attr-defined]
    dialog.accept()
    assert dialog.result() == SettingsDialog.DialogCode.Accepted
    prefs = Prefs.load()
    assert (prefs.bus, prefs.notifications, prefs.hidden_alerts) == ("session", False, [])
    entry = user_dirs / "config" / "autostart" / "smoothdesk.desktop"
    assert f"Exec={autostart.exec_line('session')}\n" in entry.read_text()
    assert autostart.exec_line("session").endswith(" --bus session")

    again = SettingsDialog()
    qtbot.addWidget(again)
    assert again.page("autostart").enabled.isChecked()  # type: ignore[attr-defined]
    again.page("autostart").enabled.setChecked(False)  # type: ignore[attr-defined]
    again.accept()
    assert not entry.exists()


def test_settings_refuse_a_bad_bus_and_keep_the_file(qtbot: QtBot) -> None:
    Prefs(bus="system").save()
    before = prefs_path().read_text()
    dialog = SettingsDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.page("bus").bus.setText("nonsense")  # type: ignore[attr-defined]
    dialog.accept()
    assert dialog.isVisible() and "--bus" in dialog.error.text() and "nonsense" in dialog.error.text()
    assert prefs_path().read_text() == before


def test_corrupt_prefs_name_the_file() -> None:
    prefs_path().parent.mkdir(parents=True, exist_ok=True)
    prefs_path().write_text('bus = "session"\nnotifications = "yes"\n')
    with pytest.raises(PrefsError, match=r"tray\.toml: notifications must be a bool"):
        Prefs.load()
    prefs_path().write_text("bus = \n")
    with pytest.raises(PrefsError, match=r"tray\.toml: .*line 1"):
        Prefs.load()
