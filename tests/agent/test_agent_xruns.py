"""Audio xruns end to end: a real PipeWire, a player stopped mid-playback, the agent, a real helper.

SIGSTOP makes the player miss its graph cycles while the null sink's timer keeps driving: PipeWire's
profiler shows the missed cycles, the agent counts them per client and reports them, and the helper's
sample, score and SLO judge them. Without PipeWire the agent reports nothing and the helper's samples
carry no audio_xruns at all (no source is not "0 xruns").
"""

from __future__ import annotations

import asyncio
import functools
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from smoothdesk.agent import SessionAgent
from smoothdesk.dbus.client import HelperClient, connect
from tests.agent.agent_support import app_of, has, unmeasured
from tests.support import pulse
from tests.support.pipewire import missing_tools, pipewire_server
from tests.support.procs import wait_for
from tests.support.tools import needs
from tests.support.user_helper import UserHelper

SLO = """
[[slo]]
name = "xruns-2s"
metric = "audio_xruns"
op = "=="
threshold = 0.0
objective = 0.9
window = "2s"
budget_period = "1m"
"""


def ask(bus: str, method: str, *args: Any) -> Any:
    async def call() -> Any:
        client = HelperClient(await connect(bus))
        try:
            return (await client.call(method, *args))[0]
        finally:
            client.bus.disconnect()

    return asyncio.run(call())


def profiler_children() -> list[int]:
    """This process's running pw_profiler children."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == os.getpid() and b"pw_profiler" in cmdline:
            found.append(int(stat.parent.name))
    return found


def history(bus: str) -> list[dict[str, Any]]:
    return list(ask(bus, "GetHistory", 60.0))


def slo(bus: str, name: str) -> dict[str, Any]:
    return next(s for s in ask(bus, "GetSlo") if s["name"] == name)


@pytest.fixture
def xrun_helper(bus_address: str, tmp_path: Any) -> Any:
    helper = UserHelper(bus_address, tmp_path, extra_config=SLO)
    helper.start()
    try:
        yield helper
    finally:
        helper.stop()


@needs(missing_tools(), "the PipeWire xrun test")
def test_a_stopped_player_xruns_reach_the_helper_sample_score_and_slo(xrun_helper: UserHelper) -> None:
    bus = xrun_helper.bus
    with pipewire_server() as pw:
        agent = SessionAgent(bus, env=pw.env, session_bus=None, audio=False)
        agent.start()
        try:
            assert wait_for(lambda: agent.state()["xrun_state"] == "pipewire", 20), agent.state()
            # The source is declared: every tick now carries a count, 0 while nothing glitches.
            assert wait_for(lambda: any(s.get("audio_xruns") == 0.0 for s in history(bus)), 20)
            player = pw.play("sd_player")
            assert wait_for(lambda: pw.node_id("sd_player") is not None, 20)
            before = agent.state()["xruns"]
            os.kill(player.pid, signal.SIGSTOP)
            try:
                assert wait_for(lambda: agent.state()["xruns"] > before, 20), agent.state()
            finally:
                os.kill(player.pid, signal.SIGCONT)
            assert wait_for(lambda: any(s.get("audio_xruns", 0) > 0 for s in history(bus)), 20), history(bus)
            glitched = [s for s in history(bus) if s.get("audio_xruns", 0) > 0]
            # The player's own process is named: its group is the pw-cat process.
            named = {k: v for s in glitched for k, v in s.items() if k.startswith("audio_xruns:")}
            assert any("pw-cat" in k for k in named), glitched
            assert sum(named.values()) <= sum(s["audio_xruns"] for s in glitched)
            # A glitching tick costs score: four xruns or more take half of it away.
            worst = max(glitched, key=lambda s: s["audio_xruns"])
            assert worst["score"] < 100.0 * (1 - 0.5 * min(1.0, worst["audio_xruns"] / 4)) + 1e-6, worst
            assert wait_for(lambda: slo(bus, "xruns-2s")["bad_windows"] >= 1, 20), slo(bus, "xruns-2s")
        finally:
            agent.stop()


def test_without_pipewire_there_is_no_xrun_figure_at_all(xrun_helper: UserHelper, tmp_path: Any) -> None:
    bus = xrun_helper.bus
    runtime = tmp_path / "xdg-no-pipewire"
    runtime.mkdir(mode=0o700)
    agent = SessionAgent(bus, env={"XDG_RUNTIME_DIR": str(runtime)}, session_bus=None, audio=False)
    agent.start()
    try:
        assert wait_for(lambda: "no PipeWire" in agent.state()["xrun_state"], 20), agent.state()
        assert wait_for(lambda: agent.state()["connected"] and len(history(bus)) >= 4, 20)
        assert all("audio_xruns" not in s for s in history(bus)), history(bus)
        assert slo(bus, "xruns-2s")["total_windows"] == 0
    finally:
        agent.stop()


@needs([*missing_tools(), *pulse.missing_tools()], "the PipeWire restart test")
def test_audio_and_xruns_come_back_after_pipewire_crashes_and_restarts(xrun_helper: UserHelper) -> None:
    """Audio clients through PipeWire's own pulse server, and the xrun profiler child, both follow
    a SIGKILLed PipeWire and its restart in the same runtime dir."""
    bus = xrun_helper.bus
    with pipewire_server() as pw:
        agent = SessionAgent(bus, env=pw.env, pulse_server=pw.pulse_server, session_bus=None)
        agent.start()
        try:
            player = pw.play_pulse("sd_pa")
            assert wait_for(lambda: agent.state()["audio"] == [player.pid], 20), agent.state()
            assert wait_for(lambda: agent.state()["xrun_state"] == "pipewire", 20), agent.state()
            plays = functools.partial(has, bus, player.pid, "plays audio")
            assert wait_for(plays, 20), app_of(bus, player.pid)
            pw.crash()
            assert wait_for(lambda: agent.state()["audio_state"].startswith("no sound server"), 20)
            assert wait_for(lambda: agent.state()["xrun_state"] != "pipewire", 20), agent.state()
            assert wait_for(lambda: any(u.startswith("audio: ") for u in unmeasured(bus)), 20)
            # While no agent counts, the samples carry no xrun figure: not a 0.
            assert wait_for(lambda: "audio_xruns" not in history(bus)[-1], 20), history(bus)[-1]
            # The killed daemon left its socket: a connect tells it is dead, no profiler child is tried.
            assert wait_for(lambda: "PipeWire does not answer" in agent.state()["xrun_state"], 20)
            assert profiler_children() == [], profiler_children()
            pw.start_again()
            again = pw.play_pulse("sd_pa")
            assert wait_for(lambda: agent.state()["audio"] == [again.pid], 20), agent.state()
            assert wait_for(lambda: agent.state()["xrun_state"] == "pipewire", 20), agent.state()
            plays = functools.partial(has, bus, again.pid, "plays audio")
            assert wait_for(plays, 20), app_of(bus, again.pid)
            assert wait_for(lambda: not any(u.startswith("audio: ") for u in unmeasured(bus)), 20)
            assert wait_for(lambda: history(bus)[-1].get("audio_xruns") == 0.0, 20), history(bus)[-1]
        finally:
            agent.stop()
    assert agent.restarts == 0
