"""Idle time under Xvfb from the X screensaver extension: it grows, input resets it, the helper hears."""

from __future__ import annotations

import asyncio

from smoothdesk.agent import SessionAgent
from smoothdesk.dbus.client import HelperClient, connect
from tests.support.procs import wait_for
from tests.support.tools import needs
from tests.support.user_helper import UserHelper
from tests.support.xsession import missing_tools, xsession

pytestmark = needs(missing_tools(), "the X idle tests")


def helper_idle(bus: str) -> float:
    async def ask() -> float:
        client = HelperClient(await connect(bus))
        try:
            return float((await client.status())["input_idle"])
        finally:
            client.bus.disconnect()
            await client.bus.wait_for_disconnect()  # type: ignore[no-untyped-call]

    return asyncio.run(ask())


def test_idle_grows_and_input_resets_it(user_helper: UserHelper) -> None:
    with xsession(wm=False) as x:
        agent = SessionAgent(user_helper.bus, env=x.env, session_bus=None, audio=False, idle_interval=0.2)
        agent.start()
        try:
            x.xdotool("mousemove", "5", "5")
            assert wait_for(lambda: agent.state()["idle_state"] == "ok", 15), agent.state()
            assert wait_for(lambda: (agent.state()["idle"] or 0) >= 6.5, 20), agent.state()
            assert wait_for(lambda: helper_idle(user_helper.bus) >= 6.5, 10), agent.state()
            x.xdotool("mousemove", "300", "200")
            assert wait_for(lambda: (agent.state()["idle"] or 99) < 2.0, 10), agent.state()
            # The helper's idea moves back too (a report only when the last input moved by > 5 s).
            assert wait_for(lambda: 0 <= helper_idle(user_helper.bus) < 3.0, 10), agent.state()
        finally:
            agent.stop()
