"""The tray against a real user-mode helper: icon states, tooltip, menu actions, windows, autostart."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from smoothdesk.gui import autostart
from smoothdesk.gui.connection import HelperConnection
from smoothdesk.gui.icons import ICON_DIR, TrayState, responsiveness
from smoothdesk.gui.tray import Tray
from tests.gui.conftest import UserHelper

TIMEOUT = 20_000
RESPONSIVE = {TrayState.OK, TrayState.WARNING, TrayState.CRITICAL}


@pytest.fixture
def tray(qtbot: QtBot, user_helper: UserHelper) -> Iterator[Tray]:
    conn = HelperConnection(user_helper.bus)
    tray = Tray(conn)
    with qtbot.waitSignal(conn.connected, timeout=TIMEOUT):
        conn.start()
    qtbot.waitUntil(lambda: tray.state in RESPONSIVE, timeout=TIMEOUT)
    yield tray
    for window in tray.windows.values():
        window.close()
    conn.stop()


def is_paused(state: TrayState) -> bool:
    return state is TrayState.PAUSED


def status_of(qtbot: QtBot, conn: HelperConnection) -> dict[str, Any]:
    got: list[dict[str, Any]] = []
    conn.call("status", on_done=got.append)
    qtbot.waitUntil(lambda: bool(got), timeout=TIMEOUT)
    return got[0]


def test_every_state_has_an_svg_icon() -> None:
    for state in TrayState:
        text = (ICON_DIR / f"{state.value}.svg").read_text()
        assert text.lstrip().startswith("<?xml") and "<svg" in text, state


@pytest.mark.parametrize(
    ("sample", "state"),
    [
        ({"score": 100.0}, TrayState.OK),
        ({"score": 70.0}, TrayState.OK),
        ({"score": 69.9}, TrayState.WARNING),
        ({"score": 40.0}, TrayState.WARNING),
        ({"score": 39.9}, TrayState.CRITICAL),
        ({"score": 90.0, "psi_cpu_some": 80.0}, TrayState.OK),  # the score wins over PSI
        ({"psi_cpu_some": 3.0, "psi_memory_some": 0.0}, TrayState.OK),
        ({"psi_cpu_some": 15.0}, TrayState.WARNING),
        ({"psi_cpu_some": 40.0}, TrayState.CRITICAL),
        ({"psi_cpu_some": 1.0, "psi_memory_some": 2.5}, TrayState.WARNING),
        ({"psi_cpu_some": 1.0, "psi_memory_some": 12.0}, TrayState.CRITICAL),
    ],
)
def test_responsiveness_thresholds(sample: dict[str, float], state: TrayState) -> None:
    assert responsiveness(sample) is state


def test_icon_follows_the_score_and_is_only_rerendered_on_change(qtbot: QtBot, tray: Tray) -> None:
    seen: list[TrayState] = []
    tray.state_changed.connect(seen.append)
    for score in (95.0, 90.0, 50.0, 45.0, 10.0, 80.0):
        tray.conn.metrics.emit({"score": score, "cpu_busy": 82.4, "demoted": 3})
    assert seen[-3:] == [TrayState.WARNING, TrayState.CRITICAL, TrayState.OK]
    assert len(seen) <= 4  # 95 and 90 are one state; 50 and 45 another
    assert tray.icon.toolTip() == "SmoothDesk: responsive · 3 apps demoted · CPU 82% · score 80"
    assert tray.icon.icon().cacheKey() == tray.icons.icon(TrayState.OK).cacheKey()


def test_menu_pause_and_resume_drive_the_real_helper(qtbot: QtBot, tray: Tray) -> None:
    tray.sync_menu()
    assert tray.actions["pause_menu"].isEnabled() and not tray.actions["resume"].isEnabled()
    with qtbot.waitSignal(tray.state_changed, check_params_cb=is_paused, timeout=TIMEOUT):
        tray.actions["pause_900"].trigger()
    status = status_of(qtbot, tray.conn)
    assert status["paused"] is True
    assert 800 < status["paused_for"] <= 900
    assert tray.icon.toolTip() == "SmoothDesk: paused for 15 min"
    assert tray.pause_end.isActive()  # refreshes when the pause runs out
    tray.sync_menu()
    assert tray.actions["resume"].isEnabled() and not tray.actions["pause_menu"].isEnabled()
    with qtbot.waitSignal(tray.state_changed, check_params_cb=lambda s: s in RESPONSIVE, timeout=TIMEOUT):
        tray.actions["resume"].trigger()
    assert status_of(qtbot, tray.conn)["paused"] is False
    assert not tray.pause_end.isActive()

    with qtbot.waitSignal(tray.state_changed, check_params_cb=is_paused, timeout=TIMEOUT):
        tray.actions["pause_0"].trigger()
    assert status_of(qtbot, tray.conn)["paused"] is True
    assert tray.icon.toolTip() == "SmoothDesk: paused until resumed"


def test_helper_killed_crosses_the_icon_out(qtbot: QtBot, tray: Tray, user_helper: UserHelper) -> None:
    with qtbot.waitSignal(
        tray.state_changed, check_params_cb=lambda s: s is TrayState.DISCONNECTED, timeout=TIMEOUT
    ):
        user_helper.stop()
    assert tray.icon.toolTip() == "SmoothDesk: helper not reachable"
    tray.sync_menu()
    assert tray.actions["start_helper"].isVisible() and not tray.actions["pause_menu"].isEnabled()
    with qtbot.waitSignal(tray.state_changed, check_params_cb=lambda s: s in RESPONSIVE, timeout=TIMEOUT):
        user_helper.start(wait=False)


def test_menu_opens_the_windows(qtbot: QtBot, tray: Tray) -> None:
    for name, module in (
        ("dashboard", "smoothdesk.gui.dashboard"),
        ("apps", "smoothdesk.gui.apps_window"),
        ("rules", "smoothdesk.gui.rules_window"),
    ):
        tray.message = None
        tray.actions[name].trigger()
        if importlib.util.find_spec(module) is not None:
            window = tray.windows[name]
            assert window.isVisible() and type(window).__module__ == module
            tray.actions[name].trigger()
            assert tray.windows[name] is window  # opened once, raised after
        else:
            assert tray.message is not None and "not part of this version" in tray.message.text()


def test_start_on_login_toggles_the_autostart_entry(tray: Tray, user_dirs: Path) -> None:
    entry = user_dirs / "config" / "autostart" / "smoothdesk.desktop"
    assert not entry.exists()
    tray.sync_menu()
    assert not tray.actions["autostart"].isChecked()
    tray.actions["autostart"].trigger()
    assert tray.actions["autostart"].isChecked()
    text = entry.read_text()
    assert f"Exec={autostart.exec_line()}\n" in text
    assert autostart.exec_line().split()[0].endswith("smoothdesk")
    tray.actions["autostart"].trigger()
    assert not entry.exists() and not tray.actions["autostart"].isChecked()


@pytest.mark.root
def test_denied_pause_says_so_and_changes_nothing(qtbot: QtBot, tray: Tray, user_helper: UserHelper) -> None:
    """The helper runs as root in user mode, so the same tray run as nobody is refused."""
    import json
    import subprocess

    from tests.support.users import drop_to_nobody, unprivileged_python

    exe, env = unprivileged_python()
    out = subprocess.run(
        [exe, "-m", "tests.gui.denied_client", user_helper.bus],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        preexec_fn=drop_to_nobody,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    told = json.loads(out.stdout.strip().splitlines()[-1])
    assert "not allowed to pause" in told["message"] and "nothing was changed" in told["message"]
    assert "uid 65534" in told["message"]  # the helper's own reason follows
    assert told["state"] != TrayState.PAUSED.value
    assert status_of(qtbot, tray.conn)["paused"] is False
