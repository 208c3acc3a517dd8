"""First run without a system helper: enable an installed one (full mode), or say how to get one."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from smoothdesk.gui import full_mode
from smoothdesk.gui.full_mode import UNIT, FullModeDialog, SystemHelper, detect
from smoothdesk.gui.shell import TrayApp

TIMEOUT = 30_000


def _recorder(tmp_path: Path, status: int = 0) -> tuple[list[str], Path]:
    """A real command standing in for pkexec: it writes its arguments to a file, then exits `status`."""
    out = tmp_path / "argv"
    script = f'printf "%s\\n" "$@" > {out}; exit {status}'
    return ["sh", "-c", script, "pkexec", "systemctl", "enable", "--now", UNIT], out


def test_detect_finds_the_unit_in_any_systemd_directory(tmp_path: Path) -> None:
    dirs = [tmp_path / "etc", tmp_path / "lib"]
    for d in dirs:
        d.mkdir()
    assert detect(dirs) is SystemHelper.MISSING
    (dirs[1] / UNIT).write_text("[Service]\n")
    assert detect(dirs) is SystemHelper.INSTALLED
    (dirs[1] / "other.service").write_text("")
    assert detect([dirs[0]]) is SystemHelper.MISSING


def test_the_default_command_is_pkexec_systemctl_enable_now() -> None:
    assert full_mode.ENABLE_COMMAND == ("pkexec", "systemctl", "enable", "--now", "smoothdesk-helper.service")


def test_installed_offers_full_mode_and_says_what_user_mode_cannot(qtbot: QtBot, tmp_path: Path) -> None:
    command, out = _recorder(tmp_path)
    dialog = FullModeDialog(SystemHelper.INSTALLED, command)
    qtbot.addWidget(dialog)
    dialog.show()
    text = dialog.message.text()
    assert "installed but not running" in text
    assert "only lower the priority of your own" in text
    assert dialog.enable_button is not None and dialog.enable_button.text() == "Enable full mode"
    with qtbot.waitSignal(dialog.enabled, timeout=TIMEOUT):
        qtbot.mouseClick(dialog.enable_button, Qt.MouseButton.LeftButton)
    assert out.read_text().split() == ["systemctl", "enable", "--now", UNIT]
    assert not dialog.isVisible()


@pytest.mark.parametrize(
    ("status", "said"), [(126, "cancelled"), (127, "not authorized"), (1, "exit status 1")]
)
def test_a_refused_enable_says_why_and_can_be_retried(
    qtbot: QtBot, tmp_path: Path, status: int, said: str
) -> None:
    command, _ = _recorder(tmp_path, status)
    dialog = FullModeDialog(SystemHelper.INSTALLED, command)
    qtbot.addWidget(dialog)
    dialog.show()
    emitted: list[bool] = []
    dialog.enabled.connect(lambda: emitted.append(True))
    assert dialog.enable_button is not None
    qtbot.mouseClick(dialog.enable_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: dialog.enable_button is not None and dialog.enable_button.isEnabled(), timeout=TIMEOUT
    )
    assert said in dialog.status.text() and UNIT in dialog.status.text()
    assert emitted == [] and dialog.isVisible()


def test_a_missing_pkexec_is_named_with_the_command_to_run(qtbot: QtBot) -> None:
    dialog = FullModeDialog(SystemHelper.INSTALLED, ["no-such-pkexec-here", "systemctl"])
    qtbot.addWidget(dialog)
    assert dialog.enable_button is not None
    qtbot.mouseClick(dialog.enable_button, Qt.MouseButton.LeftButton)
    assert "no-such-pkexec-here is not installed" in dialog.status.text()
    assert f"systemctl enable --now {UNIT}" in dialog.status.text()


def test_missing_says_how_to_get_one_and_offers_user_mode(qtbot: QtBot) -> None:
    dialog = FullModeDialog(SystemHelper.MISSING)
    qtbot.addWidget(dialog)
    dialog.show()
    text = dialog.message.text()
    assert dialog.enable_button is None
    assert "apt install ./smoothdesk_" in text and "make deb" in text and "sudo make install" in text
    with qtbot.waitSignal(dialog.user_mode, timeout=TIMEOUT):
        qtbot.mouseClick(dialog.user_button, Qt.MouseButton.LeftButton)


def test_the_tray_offers_full_mode_when_the_system_bus_has_no_helper(
    qtbot: QtBot, bus_address: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """End to end: a tray on a (private) system bus with no helper, and the unit installed."""
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", bus_address)
    (tmp_path / UNIT).write_text("[Service]\n")
    monkeypatch.setattr(full_mode, "UNIT_DIRS", (tmp_path,))
    app = TrayApp("system", agent=False)
    try:
        with qtbot.waitSignal(app.conn.disconnected, timeout=TIMEOUT):
            app.start()
        qtbot.waitUntil(lambda: app.full_mode is not None, timeout=TIMEOUT)
        assert app.full_mode is not None and app.full_mode.state is SystemHelper.INSTALLED
        assert app.full_mode.isVisible() and app.starter is None
        # "Start in user mode" falls back to the session-bus starter the tray already had.
        qtbot.mouseClick(app.full_mode.user_button, Qt.MouseButton.LeftButton)
        assert app.starter is not None and app.starter.isVisible()
        app.starter.reject()
    finally:
        app.stop()
