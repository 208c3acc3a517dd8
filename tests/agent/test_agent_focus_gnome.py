"""Focus under Debian 12's real GNOME Shell 43 (headless, virtual monitor, XWayland) through the extension."""

from __future__ import annotations

import asyncio
import functools

import pytest
from dbus_fast import Message
from dbus_fast.aio import MessageBus

from smoothdesk.agent import SessionAgent
from smoothdesk.agent.focus_select import GNOME_EXTENSIONS, choose_focus, close
from smoothdesk.agent.focus_shell import RECEIVER_IFACE, RECEIVER_NAME, RECEIVER_PATH
from tests.agent.agent_support import app_of, has, lacks
from tests.support.gnome import GnomeSession, gnomesession, missing_tools
from tests.support.install_cli import doctor_focus
from tests.support.procs import wait_for
from tests.support.tools import needs
from tests.support.user_helper import UserHelper

pytestmark = needs(missing_tools(), "the GNOME Shell focus tests")

NOW = "has the focused window"


@pytest.fixture(scope="module")
def gnome() -> object:
    with gnomesession() as g:
        one, two, x = g.foot("sd-gnome-one"), g.foot("sd-gnome-two"), g.x_window("sd-gnome-x")
        for win in (one, two, x):
            g.mapped(win)
        yield g


def fake_report(address: str, *body: object) -> tuple[str, str]:
    """ReportFocus from a client that is not GNOME Shell: (reply type, error name)."""

    async def go() -> tuple[str, str]:
        bus = await MessageBus(bus_address=address).connect()
        try:
            reply = await bus.call(
                Message(destination=RECEIVER_NAME, path=RECEIVER_PATH, interface=RECEIVER_IFACE,
                        member="ReportFocus", signature="isb", body=list(body))
            )  # fmt: skip
            assert reply is not None
            return reply.message_type.name, reply.error_name or ""
        finally:
            await close(bus)

    return asyncio.run(go())


def test_gnome_focus_follows_wayland_and_xwayland(gnome: GnomeSession, user_helper: UserHelper) -> None:
    bus = user_helper.bus
    one, two, x = gnome.windows
    choice = asyncio.run(choose_focus(gnome.env, gnome.bus))
    assert (choice.source, choice.ready, choice.why) == ("gnome-shell", True, "")
    doctor = doctor_focus(gnome.agent_env)
    assert (
        doctor["status"] == "ok" and doctor["summary"] == "focus source: the SmoothDesk GNOME Shell extension"
    )
    assert wait_for(lambda: all(app_of(bus, w.pid) is not None for w in gnome.windows), 20)
    gnome.activate(two.pid)  # focused before the agent starts: the extension tells it when it appears
    agent = SessionAgent(bus, env=gnome.agent_env, session_bus=gnome.bus, audio=False, xruns=False)
    agent.start()
    try:
        assert wait_for(lambda: agent.state()["focus_pid"] == two.pid, 15), agent.state()
        assert agent.state()["focus_source"] == "gnome-shell"
        for focused, other in ((x, two), (one, x), (two, one), (x, one)):
            gnome.activate(focused.pid)
            assert wait_for(lambda: agent.state()["focus_pid"] == focused.pid, 15), agent.state()  # noqa: B023
            assert agent.state()["focus_xwayland"] is focused.xwayland
            if not focused.xwayland:
                assert agent.state()["focus_app"] == focused.app_id  # foot's --app-id
            assert wait_for(functools.partial(has, bus, focused.pid, NOW), 15), (
                app_of(bus, focused.pid), agent.state(),
            )  # fmt: skip
            assert wait_for(functools.partial(lacks, bus, other.pid, NOW), 15), app_of(bus, other.pid)
        assert agent.state()["focus_app"] == "SmoothDeskTest"  # the X window's WM_CLASS class
        # Another program on the same session bus cannot fake the focus: only the shell may report.
        denied = ("ERROR", "org.freedesktop.DBus.Error.AccessDenied")
        assert fake_report(gnome.bus, one.pid, "evil", False) == denied
        assert agent.state()["focus_pid"] == x.pid
    finally:
        agent.stop()


def test_gnome_without_the_extension_says_what_to_do(user_helper: UserHelper) -> None:
    with gnomesession(install=False) as g:
        choice = asyncio.run(choose_focus(g.env, g.bus))
        assert choice.source == "gnome-shell" and not choice.ready
        assert "extension is not installed" in choice.why and "--install-integration" in choice.why
        doctor = doctor_focus(g.agent_env)
        assert doctor["status"] == "warn" and "extension is not installed" in doctor["summary"], doctor
        agent = SessionAgent(user_helper.bus, env=g.agent_env, session_bus=g.bus, audio=False, xruns=False)
        agent.start()
        try:
            assert wait_for(lambda: "extension is not installed" in agent.state()["focus"], 15), agent.state()
            assert agent.state()["focus_pid"] is None
        finally:
            agent.stop()


def test_gnome_extension_disabled_then_enabled_again(gnome: GnomeSession, user_helper: UserHelper) -> None:
    from tests.support.gnome import UUID, call

    one = gnome.windows[0]
    gnome.activate(one.pid)
    agent = SessionAgent(
        user_helper.bus, env=gnome.agent_env, session_bus=gnome.bus, audio=False, xruns=False
    )
    agent.start()
    try:
        assert wait_for(lambda: agent.state()["focus_pid"] == one.pid, 15), agent.state()
        assert call(gnome.bus, GNOME_EXTENSIONS, "DisableExtension", "s", UUID) == [True]
        assert wait_for(lambda: "integration was disabled" in agent.state()["focus"], 15), agent.state()
        assert agent.state()["focus_pid"] is None
        assert call(gnome.bus, GNOME_EXTENSIONS, "EnableExtension", "s", UUID) == [True]
        # Enabled again, it sees the agent's name and reports at once, without a focus change.
        assert wait_for(lambda: agent.state()["focus_pid"] == one.pid, 15), agent.state()
    finally:
        agent.stop()


def test_gnome_agent_started_before_the_shell_hears_it_once_it_is_up(user_helper: UserHelper) -> None:
    agents: list[SessionAgent] = []

    def start_agent(g: GnomeSession) -> None:
        agent = SessionAgent(user_helper.bus, env=g.agent_env, session_bus=g.bus, audio=False, xruns=False)
        agents.append(agent)
        agent.start()
        # No shell on the bus yet: GNOME from the desktop variable, the focus unknown meanwhile.
        assert wait_for(lambda: agent.state()["focus_source"] == "gnome-shell", 10), agent.state()
        assert agent.state()["focus"].startswith("unknown: ")

    try:
        with gnomesession(before_shell=start_agent) as g:
            (agent,) = agents
            # The extension's first report (no window focused yet) comes the moment the shell
            # sees the agent's name, before the agent may have heard that the shell owns its own.
            assert wait_for(lambda: agent.state()["focus"] == "none", 15), agent.state()
            one = g.foot("sd-gnome-early")
            g.mapped(one)
            g.activate(one.pid)
            # The shell took its name after the agent: the receiver followed NameOwnerChanged.
            assert wait_for(lambda: agent.state()["focus_pid"] == one.pid, 15), agent.state()
            assert wait_for(lambda: has(user_helper.bus, one.pid, NOW), 15), app_of(user_helper.bus, one.pid)
    finally:
        for agent in agents:
            agent.stop()
