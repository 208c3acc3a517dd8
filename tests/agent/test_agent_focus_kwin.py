"""Focus under Debian 12's real KWin 5.27 (kwin_wayland --virtual, XWayland) through the SmoothDesk script."""

from __future__ import annotations

import asyncio
import functools

from smoothdesk.agent import SessionAgent
from smoothdesk.agent.focus_select import choose_focus
from smoothdesk.agent.integration import enable_in_kwinrc
from tests.agent.agent_support import app_of, has, lacks
from tests.agent.test_agent_focus_gnome import fake_report
from tests.support.compositor import Window
from tests.support.install_cli import doctor_focus, install_integration
from tests.support.kwin import KWinSession, kwinsession, missing_tools
from tests.support.procs import wait_for
from tests.support.tools import needs
from tests.support.user_helper import UserHelper

pytestmark = needs(missing_tools(), "the KWin focus tests")

NOW = "has the focused window"


def focus(k: KWinSession, agent: SessionAgent, win: Window, timeout: float = 30.0) -> None:
    """Activate `win` (again, until KWin has mapped it) until the agent reports its pid."""
    for _ in range(int(timeout / 2)):
        k.alive()
        k.activate(win.pid)
        if wait_for(lambda: agent.state()["focus_pid"] == win.pid, 2):
            return
    raise AssertionError(f"the agent never reported {win.app_id} ({win.pid}): {agent.state()}")


def test_kwin_focus_follows_wayland_and_xwayland(user_helper: UserHelper) -> None:
    bus = user_helper.bus
    with kwinsession() as k:
        assert k.script_loaded("smoothdesk-focus")  # install_kwin loaded it over KWin's scripting D-Bus
        kwinrc = (k.root / "home/.config/kwinrc").read_text()
        assert (
            "[Plugins]\nsmoothdesk-focusEnabled=true" in kwinrc and "FocusStealingPreventionLevel=0" in kwinrc
        )
        one, two, x = k.qt_window("sd-kwin-one"), k.qt_window("sd-kwin-two"), k.x_window("sd-kwin-x")
        choice = asyncio.run(choose_focus(k.env, k.bus))
        assert (choice.source, choice.ready, choice.why) == ("kwin", True, "")
        assert wait_for(lambda: all(app_of(bus, w.pid) is not None for w in k.windows), 20)
        agent = SessionAgent(bus, env=k.agent_env, session_bus=k.bus, audio=False, xruns=False)
        agent.start()
        try:
            focus(k, agent, two)
            assert agent.state()["focus_source"] == "kwin"
            for focused, other in ((x, two), (one, x), (two, one), (x, two)):
                focus(k, agent, focused)
                assert agent.state()["focus_xwayland"] is focused.xwayland
                assert agent.state()["focus_app"] == (
                    "smoothdesktest" if focused.xwayland else focused.app_id
                )
                # KWin may hand focus on by itself right after an XWayland activation (seen once in
                # six fresh-clone runs): then the agent rightly reports the other window, and the
                # window is activated again; the helper must follow whichever report is last.
                for _ in range(3):
                    if wait_for(functools.partial(has, bus, focused.pid, NOW), 5):
                        break
                    focus(k, agent, focused)
                assert agent.state()["focus_pid"] == focused.pid, agent.state()
                assert wait_for(functools.partial(has, bus, focused.pid, NOW), 5), (
                    app_of(bus, focused.pid), agent.state(),
                )  # fmt: skip
                assert wait_for(functools.partial(lacks, bus, other.pid, NOW), 15), app_of(bus, other.pid)
            denied = ("ERROR", "org.freedesktop.DBus.Error.AccessDenied")
            assert fake_report(k.bus, one.pid, "evil", False) == denied
            assert agent.state()["focus_pid"] == x.pid
        finally:
            agent.stop()


def test_kwin_agent_started_later_hears_the_active_window_at_once(user_helper: UserHelper) -> None:
    with kwinsession() as k:
        one = k.qt_window("sd-kwin-late")
        first = SessionAgent(user_helper.bus, env=k.agent_env, session_bus=k.bus, audio=False, xruns=False)
        first.start()
        try:
            focus(k, first, one)
        finally:
            first.stop()
        # No focus change from here on: the new agent reloads the script, which reports at load.
        agent = SessionAgent(user_helper.bus, env=k.agent_env, session_bus=k.bus, audio=False, xruns=False)
        agent.start()
        try:
            assert wait_for(lambda: agent.state()["focus_pid"] == one.pid, 10), agent.state()
        finally:
            agent.stop()


def test_kwin_without_the_script_says_what_to_do(user_helper: UserHelper) -> None:
    with kwinsession(install=False) as k:
        choice = asyncio.run(choose_focus(k.env, k.bus))
        assert choice.source == "kwin" and not choice.ready
        assert "KWin script is not loaded" in choice.why and "--install-integration" in choice.why
        doctor = doctor_focus(k.agent_env)
        assert doctor["status"] == "warn" and "KWin script is not loaded" in doctor["summary"], doctor
        # The real installer, into the running KWin: from then on the script reports.
        install_integration(k.env)
        assert k.script_loaded("smoothdesk-focus")
        assert doctor_focus(k.agent_env)["summary"] == "focus source: the SmoothDesk KWin script"


def test_enabling_in_kwinrc_keeps_every_other_line(tmp_path: object) -> None:
    from pathlib import Path

    rc = Path(str(tmp_path)) / "kwinrc"
    rc.write_text(
        "[Desktops]\nNumber=2\n\n[Plugins]\nblurEnabled=false\nsmoothdesk-focusEnabled=false\n\n[Xwayland]\nScale=1\n"
    )
    enable_in_kwinrc(rc)
    assert rc.read_text() == (
        "[Desktops]\nNumber=2\n\n[Plugins]\nblurEnabled=false\nsmoothdesk-focusEnabled=true\n\n[Xwayland]\nScale=1\n"
    )
    other = Path(str(tmp_path)) / "other"
    other.write_text("[Compositing]\nBackend=OpenGL\n")
    enable_in_kwinrc(other)
    assert other.read_text() == "[Compositing]\nBackend=OpenGL\n\n[Plugins]\nsmoothdesk-focusEnabled=true\n"
