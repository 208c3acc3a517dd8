"""Audio under a real PulseAudio with a null sink: playing clients reported, corked ones not."""

from __future__ import annotations

import functools

from smoothdesk.gui.agent import SessionAgent
from tests.gui.agent_support import app_of, has, lacks
from tests.gui.conftest import UserHelper
from tests.support.procs import wait_for
from tests.support.pulse import missing_tools, pulse_server
from tests.support.tools import needs

pytestmark = needs(missing_tools(), "the PulseAudio tests")

PLAYS = "plays audio"


def test_a_playing_client_is_classified_as_an_audio_client(user_helper: UserHelper) -> None:
    bus = user_helper.bus
    with pulse_server() as pa:
        agent = SessionAgent(bus, env={}, pulse_server=pa.server, session_bus=None)
        agent.start()
        try:
            assert wait_for(lambda: agent.state()["audio_state"] == "ok", 15), agent.state()
            music = pa.play("music")
            assert wait_for(lambda: agent.state()["audio"] == [music.pid], 15), agent.state()
            assert wait_for(functools.partial(has, bus, music.pid, PLAYS), 15), app_of(bus, music.pid)
            # A phone stream makes the server cork the music: a corked stream is not playing.
            phone = pa.play("phone")
            assert wait_for(lambda: agent.state()["audio"] == [phone.pid], 15), agent.state()
            assert wait_for(functools.partial(has, bus, phone.pid, PLAYS), 15), app_of(bus, phone.pid)
            assert wait_for(functools.partial(lacks, bus, music.pid, PLAYS), 15), app_of(bus, music.pid)
            phone.terminate()
            phone.wait(timeout=10)
            assert wait_for(lambda: agent.state()["audio"] == [music.pid], 15), agent.state()
            # The helper restarts: the agent reconnects and tells the new one what plays.
            user_helper.stop()
            assert wait_for(lambda: not agent.state()["connected"], 15)
            user_helper.start()
            assert wait_for(functools.partial(has, bus, music.pid, PLAYS), 20), (
                app_of(bus, music.pid),
                agent.state(),
            )
            music.terminate()
            music.wait(timeout=10)
            assert wait_for(lambda: agent.state()["audio"] == [], 15), agent.state()
        finally:
            agent.stop()
