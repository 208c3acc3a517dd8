"""Focus under Xvfb + openbox: two real windows from two processes, the agent, a real helper."""

from __future__ import annotations

import functools
import subprocess
import sys

import pytest

from smoothdesk.agent import SessionAgent
from tests.agent.agent_support import app_of, has, lacks, unmeasured
from tests.support.procs import wait_for
from tests.support.tools import needs
from tests.support.user_helper import UserHelper
from tests.support.xsession import missing_tools, xsession

pytestmark = needs(missing_tools(), "the X focus tests")

NOW = "has the focused window"


def test_switching_focus_makes_the_focused_window_interactive(user_helper: UserHelper) -> None:
    bus = user_helper.bus
    with xsession() as x:
        one, two = x.window("sd-one"), x.window("sd-two")
        assert wait_for(lambda: app_of(bus, one.pid) is not None and app_of(bus, two.pid) is not None, 20)
        agent = SessionAgent(bus, env=x.env, session_bus=None, audio=False)
        agent.start()
        try:
            for focused, other in ((one, two), (two, one), (one, two)):
                x.activate(focused.wid)
                now_focused = functools.partial(has, bus, focused.pid, NOW)
                assert wait_for(now_focused, 15), (app_of(bus, focused.pid), agent.state())
                assert wait_for(functools.partial(lacks, bus, other.pid, NOW), 15), app_of(bus, other.pid)
                assert agent.state()["focus_pid"] == focused.pid
                assert agent.state()["connected"]
            # Once its grace has run out the window that lost focus is no longer interactive.
            assert wait_for(lambda: app_of(bus, two.pid)["class"] != "interactive", 20), app_of(bus, two.pid)  # type: ignore[index]
        finally:
            agent.stop()


@pytest.mark.parametrize(
    ("kind", "why"), [("nopid", "has no _NET_WM_PID"), ("remote", "runs on host 'elsewhere.example'")]
)
def test_a_window_we_cannot_place_is_focus_unknown_not_a_guess(
    user_helper: UserHelper, kind: str, why: str
) -> None:
    with xsession() as x:
        one = x.window("sd-one")
        odd = x.window("sd-odd", pid=kind != "nopid", host="" if kind == "nopid" else "elsewhere.example")
        agent = SessionAgent(user_helper.bus, env=x.env, session_bus=None, audio=False)
        agent.start()
        try:
            x.activate(one.wid)
            assert wait_for(lambda: has(user_helper.bus, one.pid, NOW), 15), agent.state()
            x.activate(odd.wid)
            # Not a guess: the previous window is no longer reported, and the state says why.
            assert wait_for(lambda: why in agent.state()["focus"], 15), agent.state()
            assert agent.state()["focus"].startswith("unknown: ")
            assert wait_for(lambda: lacks(user_helper.bus, one.pid, NOW), 15)
            assert lacks(user_helper.bus, odd.pid, "focus")
        finally:
            agent.stop()


def test_focus_comes_back_after_the_x_server_crashes_and_restarts(user_helper: UserHelper) -> None:
    bus = user_helper.bus
    with xsession() as x:
        one = x.window("sd-one")
        agent = SessionAgent(bus, env=x.env, session_bus=None, audio=False, xruns=False)
        agent.start()
        try:
            x.activate(one.wid)
            assert wait_for(lambda: has(bus, one.pid, NOW), 15), agent.state()
            x.crash_server()
            lost = f"unknown: no focus from the X display {x.display!r}"
            assert wait_for(lambda: agent.state()["focus"].startswith(lost), 15), agent.state()
            assert wait_for(lambda: focus_unmeasured(bus).startswith(lost[9:]), 15), unmeasured(bus)
            x.start_server_again()
            two = x.window("sd-two")
            x.activate(two.wid)
            assert wait_for(lambda: agent.state()["focus_pid"] == two.pid, 15), agent.state()
            assert wait_for(lambda: has(bus, two.pid, NOW), 15), (app_of(bus, two.pid), agent.state())
            assert focus_unmeasured(bus) == ""
            # Idle time read from the same X server comes back with it.
            assert wait_for(lambda: agent.state()["idle_state"] == "ok", 15), agent.state()
        finally:
            agent.stop()
    assert agent.restarts == 0


def focus_unmeasured(bus: str) -> str:
    """Why the helper was told focus is unknown ("" when it is measured)."""
    return next((u[len("focus: ") :] for u in unmeasured(bus) if u.startswith("focus: ")), "")


def test_the_agent_runs_headless_and_says_why_focus_is_unknown(user_helper: UserHelper) -> None:
    env = {"WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland", "PATH": "/usr/bin:/bin"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "smoothdesk.agent", "--bus", user_helper.bus, "--no-audio",
         "--print-state"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if '"connected": true' in line:
                break
        assert "unknown: Wayland session" in line and "never" not in line, line
    finally:
        proc.terminate()
        assert proc.wait(timeout=15) == 0
        if proc.stdout is not None:
            proc.stdout.close()
