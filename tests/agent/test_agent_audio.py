"""Audio under a real PulseAudio with a null sink: playing clients reported, corked ones not."""

from __future__ import annotations

import functools
import logging

import pytest

from smoothdesk.agent import SessionAgent
from tests.agent.agent_support import app_of, has, lacks, unmeasured
from tests.support.procs import wait_for
from tests.support.pulse import missing_tools, pulse_server
from tests.support.tools import needs
from tests.support.user_helper import UserHelper

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


def test_the_agent_follows_pulseaudio_through_a_crash_and_a_restart(
    user_helper: UserHelper, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, "smoothdesk.agent.watcher")
    bus = user_helper.bus
    with pulse_server() as pa:
        agent = SessionAgent(bus, env={}, pulse_server=pa.server, session_bus=None, xruns=False)
        agent.start()
        try:
            music = pa.play("music")
            assert wait_for(lambda: agent.state()["audio"] == [music.pid], 15), agent.state()
            assert wait_for(functools.partial(has, bus, music.pid, PLAYS), 15), app_of(bus, music.pid)
            assert audio_unmeasured(bus) == []
            pa.crash()
            # Not measured is said as such, to the helper too: not "nothing plays".
            assert wait_for(lambda: agent.state()["audio_state"].startswith("no sound server"), 15)
            assert agent.state()["audio"] == []
            assert wait_for(lambda: said_gone(bus), 15), unmeasured(bus)
            # Stay down through a few reconnects (0.5 s, 1 s, 2 s): the outage is logged once.
            assert wait_for(lambda: retries(caplog) >= 2, 15), caplog.text
            pa.start_again()
            again = pa.play("music")
            assert wait_for(lambda: agent.state()["audio"] == [again.pid], 15), agent.state()
            assert agent.state()["audio_state"] == "ok"
            assert wait_for(functools.partial(has, bus, again.pid, PLAYS), 15), app_of(bus, again.pid)
            assert wait_for(lambda: audio_unmeasured(bus) == [], 15), unmeasured(bus)
        finally:
            agent.stop()
    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len([m for m in said if "is gone" in m]) == 1, said
    assert sum("is back after" in r.getMessage() for r in caplog.records) == 1
    assert agent.restarts == 0


def audio_unmeasured(bus: str) -> list[str]:
    return [u for u in unmeasured(bus) if u.startswith("audio:")]


def said_gone(bus: str) -> bool:
    return any(u.startswith("audio: no sound server") for u in audio_unmeasured(bus))


def retries(caplog: pytest.LogCaptureFixture) -> int:
    return sum("still gone" in r.getMessage() for r in caplog.records)
