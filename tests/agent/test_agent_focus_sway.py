"""Focus under a real headless sway: two foot windows from two processes, the agent, a real helper."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator

from smoothdesk.agent import SessionAgent
from smoothdesk.agent.focus_wayland import focus_source
from tests.agent.agent_support import app_of, has, lacks, unmeasured
from tests.support.procs import terminate, wait_for
from tests.support.sway import SwaySession, missing_tools, swaysession
from tests.support.tools import needs
from tests.support.user_helper import UserHelper

pytestmark = needs(missing_tools(), "the sway focus tests")

NOW = "has the focused window"


@contextlib.contextmanager
def agent_on_one_window(bus: str) -> Iterator[tuple[SwaySession, SessionAgent]]:
    """sway with one window, and a running agent whose focus report the helper has taken."""
    with swaysession() as s:
        one = s.window("sd-one")
        agent = SessionAgent(bus, env=s.env, session_bus=None, audio=False, xruns=False)
        agent.start()
        try:
            assert wait_for(lambda: has(bus, one.pid, NOW), 15), agent.state()
            yield s, agent
        finally:
            agent.stop()


def test_switching_focus_in_sway_makes_the_focused_window_interactive(user_helper: UserHelper) -> None:
    bus = user_helper.bus
    with swaysession() as s:
        one, two = s.window("sd-one"), s.window("sd-two")
        assert focus_source(s.env) == ("sway", "")
        assert wait_for(lambda: app_of(bus, one.pid) is not None and app_of(bus, two.pid) is not None, 20)
        agent = SessionAgent(bus, env=s.env, session_bus=None, audio=False, xruns=False)
        agent.start()
        try:
            # two was mapped last, so sway focused it before the agent started: read from get_tree.
            assert wait_for(lambda: agent.state()["focus_pid"] == two.pid, 15), agent.state()
            for focused, other in ((one, two), (two, one), (one, two)):
                s.focus(focused.pid)
                assert wait_for(functools.partial(has, bus, focused.pid, NOW), 15), (
                    app_of(bus, focused.pid), agent.state(),
                )  # fmt: skip
                assert wait_for(functools.partial(lacks, bus, other.pid, NOW), 15), app_of(bus, other.pid)
                assert agent.state()["focus_pid"] == focused.pid
                assert agent.state()["focus_app"] == focused.app_id
                assert agent.state()["connected"]
        finally:
            agent.stop()


def test_an_empty_workspace_or_a_closed_window_leaves_nothing_focused(user_helper: UserHelper) -> None:
    bus = user_helper.bus
    with swaysession() as s:
        one, two = s.window("sd-one"), s.window("sd-two")
        agent = SessionAgent(bus, env=s.env, session_bus=None, audio=False, xruns=False)
        agent.start()
        try:
            s.focus(one.pid)
            assert wait_for(lambda: has(bus, one.pid, NOW), 15), agent.state()
            s.msg("workspace", "9")
            assert wait_for(lambda: agent.state()["focus"] == "none", 15), agent.state()
            assert wait_for(lambda: lacks(bus, one.pid, NOW), 15), app_of(bus, one.pid)
            s.msg("workspace", "1")
            assert wait_for(lambda: agent.state()["focus_pid"] == one.pid, 15), agent.state()
            # Closing the focused window hands focus to the other one: never to the closed one.
            s.msg("kill")
            assert wait_for(lambda: agent.state()["focus_pid"] == two.pid, 15), agent.state()
            assert wait_for(lambda: has(bus, two.pid, NOW), 15), agent.state()
            reports = agent.state()["reports"]
            s.msg("kill")
            assert wait_for(lambda: agent.state()["focus"] == "none", 15), agent.state()
            # Stop only once the helper has the report: stopping mid-call is another matter.
            assert wait_for(lambda: agent.state()["reports"] > reports, 15), agent.state()
        finally:
            agent.stop()


def test_focus_is_unknown_with_the_reason_when_sway_goes_away(user_helper: UserHelper) -> None:
    with agent_on_one_window(user_helper.bus) as (s, agent):
        reports = agent.state()["reports"]
        terminate(s.sway)  # its clients go with it, so the helper has no app left to ask about
        assert wait_for(lambda: "no focus from sway IPC" in agent.state()["focus"], 15), agent.state()
        assert agent.state()["focus"].startswith("unknown: ")
        assert agent.state()["focus_pid"] is None
        assert wait_for(lambda: agent.state()["reports"] > reports, 15), agent.state()


def test_focus_comes_back_when_sway_is_started_again_on_the_same_socket(user_helper: UserHelper) -> None:
    bus = user_helper.bus
    with agent_on_one_window(bus) as (s, agent):
        path = s.swaysock
        s.quit_sway()
        assert wait_for(lambda: "no focus from sway IPC" in agent.state()["focus"], 15), agent.state()
        assert wait_for(lambda: any("focus: no focus from sway IPC" in u for u in unmeasured(bus)), 15)
        s.start_sway()
        assert s.swaysock == path
        two = s.window("sd-two")
        assert wait_for(lambda: agent.state()["focus_pid"] == two.pid, 15), agent.state()
        assert wait_for(lambda: has(bus, two.pid, NOW), 15), (app_of(bus, two.pid), agent.state())
        assert not any(u.startswith("focus: ") for u in unmeasured(bus)), unmeasured(bus)
    assert agent.restarts == 0


def test_a_dead_swaysock_is_named_in_the_unknown_reason(tmp_path: object) -> None:
    env = {"WAYLAND_DISPLAY": "wayland-1", "SWAYSOCK": "/nonexistent/sway-ipc.sock"}
    kind, why = focus_source(env)
    assert kind == "unknown"
    assert "sway IPC at /nonexistent/sway-ipc.sock does not answer" in why
    assert "KWin" in why
