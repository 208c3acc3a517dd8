"""The helper never lingers off the bus: a real dbus-daemon is restarted, killed, or wedged by a
client that never reads, and the helper is back (or has exited non-zero, restoring) within 5 s."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from dbus_fast import Message
from dbus_fast.aio import MessageBus

from smoothdesk.dbus.client import HelperClient, connect
from smoothdesk.dbus.errors import BusError
from tests.support.bus import CONFIG, RestartableBus
from tests.support.procs import named_binary, sched_state, spawn_sleeper, stop, wait_for
from tests.support.users import REPO

pytestmark = pytest.mark.root

# The bus daemon stops reading a sender while this many of its bytes wait in other connections'
# queues (libdbus's live-messages counter). The system bus default is 127 MB; 1 MB is quick.
TIGHT = CONFIG.replace(
    "<auth>EXTERNAL</auth>",
    '<auth>EXTERNAL</auth>\n  <limit name="max_incoming_bytes">1000000</limit>\n'
    '  <limit name="max_outgoing_bytes">100000000</limit>',
)


async def closed(bus: MessageBus) -> None:
    """Disconnect and let the loop close the socket (asyncio.run ending first leaks it)."""
    bus.disconnect()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(bus.wait_for_disconnect(), 5)


@pytest.fixture
def rbus() -> Iterator[RestartableBus]:
    with RestartableBus() as bus:
        yield bus


def start_helper(address: str, tmp: Path, tick: float = 0.2) -> subprocess.Popen[bytes]:
    config = tmp / "c.toml"
    # No ONNX ranker: its first load blocks the loop for seconds on a loaded machine, which is
    # no part of what these tests time.
    config.write_text('[rules]\nananicy_dirs = []\n[ranker]\nmodel = "off"\n')
    with (tmp / "helper.log").open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "smoothdesk.helper.main", "--bus", address, "--tick", str(tick),
             "--config", str(config), "--run-dir", str(tmp / "run")],
            cwd=REPO, stderr=log,
        )  # fmt: skip


async def _status(address: str, timeout: float = 1.0) -> dict[str, object] | None:
    try:
        bus = await asyncio.wait_for(connect(address), timeout)
    except (BusError, TimeoutError):
        return None
    try:
        return await asyncio.wait_for(HelperClient(bus).status(), timeout)
    except (BusError, TimeoutError, EOFError):
        return None
    finally:
        await closed(bus)


def demoted(pid: int) -> bool:
    """The helper's background lever on the pinned sleeper (nice or its cgroup). Checked only once
    the helper is on the bus: it resets at start-up a demotion inherited from a demoted runner."""
    state = sched_state(pid)
    return int(state["nice"]) > 0 or "/smoothdesk" in str(state["cgroup"])  # type: ignore[call-overload]


def pin(address: str, pid: int) -> None:
    async def call() -> None:
        bus = await connect(address)
        try:
            await HelperClient(bus).set_class(str(pid), "background")
        finally:
            await closed(bus)

    assert wait_for(lambda: _tried(call), 10), "the helper did not take the pin"


def _tried(call: Any) -> bool:
    try:
        asyncio.run(call())
    except BusError:
        return False  # not grouped yet: the next tick sees it
    return True


def status(address: str, tries: int = 5) -> dict[str, object] | None:
    for _ in range(tries):  # 1 s each: a loaded machine can miss one
        answer = asyncio.run(_status(address))
        if answer is not None:
            return answer
    return None


def reporters(address: str) -> int:
    answer = status(address)
    return -1 if answer is None else int(answer["reporters"])  # type: ignore[call-overload]


def stamp(line: str) -> float:
    day, clock = line.split()[:2]
    return datetime.strptime(f"{day} {clock}", "%Y-%m-%d %H:%M:%S,%f").timestamp()


def back_within(address: str, seconds: float) -> float | None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        if status(address) is not None:
            return time.monotonic() - t0
        time.sleep(0.05)
    return None


def test_back_on_a_restarted_bus_within_5s(rbus: RestartableBus, shared_tmp: Path) -> None:
    # A sleeper under a name no rule knows, pinned by root through this helper: another root
    # helper on a shared machine (benchmarks run them) leaves it alone, unlike a busy cc1plus.
    hog = spawn_sleeper(named_binary(shared_tmp, "sd-reconnect-pin"))
    helper = start_helper(rbus.address, shared_tmp)
    try:
        assert back_within(rbus.address, 15) is not None
        pin(rbus.address, hog.pid)
        assert wait_for(lambda: demoted(hog.pid), 15)  # a lever is on
        for round_ in range(2):
            rbus.restart()
            # 5 s is the limit bench_hostile --part restart measures; a test on shared cores (load
            # averages of 20 seen) checks it comes back, with room for the machine.
            took = back_within(rbus.address, 15.0)
            assert took is not None, f"round {round_}: not back on the new bus within 15 s"
            assert helper.poll() is None and demoted(hog.pid)  # levers stayed on

        # NameOwnerChanged is subscribed again: a reporter that leaves stops counting at once.
        async def report() -> MessageBus:
            bus = await connect(rbus.address)
            await HelperClient(bus).report_idle(3.0)
            return bus

        loop = asyncio.new_event_loop()
        try:
            reporter = loop.run_until_complete(report())
            assert wait_for(lambda: reporters(rbus.address) == 1, 10)
            reporter.disconnect()
            loop.run_until_complete(reporter.wait_for_disconnect())
            assert wait_for(lambda: reporters(rbus.address) == 0, 10)
        finally:
            loop.close()
        ticks = status(rbus.address)["ticks"]  # type: ignore[index]
        time.sleep(1.0)
        assert status(rbus.address)["ticks"] > ticks  # type: ignore[index, operator]
    finally:
        helper.terminate()
        assert helper.wait(timeout=30) == 0
        stop(hog)
    log = (shared_tmp / "helper.log").read_text()
    assert "reconnection 2" in log, log


def test_exits_nonzero_and_restores_when_the_bus_stays_away(rbus: RestartableBus, shared_tmp: Path) -> None:
    # A sleeper under a name no rule knows, pinned by root through this helper: another root
    # helper on a shared machine (benchmarks run them) leaves it alone, unlike a busy cc1plus.
    hog = spawn_sleeper(named_binary(shared_tmp, "sd-reconnect-pin"))
    helper = start_helper(rbus.address, shared_tmp)
    try:
        assert back_within(rbus.address, 15) is not None
        pin(rbus.address, hog.pid)
        assert wait_for(lambda: demoted(hog.pid), 15)
        rbus.kill()
        code = helper.wait(timeout=30)
        assert code == 1, code  # non-zero: systemd's Restart=on-failure brings it back
        assert not demoted(hog.pid)  # nothing left unrestored
    finally:
        if helper.poll() is None:
            helper.terminate()
            helper.wait(timeout=15)
        stop(hog)
    lines = (shared_tmp / "helper.log").read_text().splitlines()
    lost = next(x for x in lines if "lost the bus connection" in x)
    gave_up = next(x for x in lines if "exiting so that the service manager restarts" in x)
    stopped = next(x for x in lines if " stopped: " in x)
    # By the helper's own clock (the test's would count a loaded machine's start-up of Python):
    # (3 s of trying, then the restore: 5 s in bench_hostile; here with room for a loaded machine)
    assert stamp(gave_up) - stamp(lost) < 8.0 and stamp(stopped) - stamp(lost) < 10.0, lines


def test_a_client_that_never_reads_cannot_wedge_the_helper(shared_tmp: Path) -> None:
    """It asks for long replies and never reads them: the daemon then stops reading the helper,
    whose socket fills. The helper sees the stall and reconnects; others are answered again."""
    with RestartableBus(TIGHT) as rbus:
        helper = start_helper(rbus.address, shared_tmp, tick=0.05)
        try:
            assert back_within(rbus.address, 15) is not None
            time.sleep(2.0)  # some history to ask for

            async def scenario() -> tuple[float | None, int]:
                hostile = await connect(rbus.address)
                hostile._loop.remove_reader(hostile._fd)  # never read again
                for _ in range(200):
                    hostile.send(
                        Message(destination="org.smoothdesk.Helper1", path="/org/smoothdesk/Helper1",
                                interface="org.smoothdesk.Helper1", member="GetHistory", signature="d",
                                body=[60.0])
                    )  # fmt: skip
                await asyncio.sleep(1.0)
                t0 = time.monotonic()
                answered = None
                while time.monotonic() - t0 < 10:
                    if await _status(rbus.address, 0.5) is not None:
                        answered = time.monotonic() - t0
                        break
                stuck = 0 if answered is not None else 1
                hostile.disconnect()
                hostile._sock.close()  # its reader is gone, so dbus-fast would never close it
                return answered, stuck

            answered, _ = asyncio.run(scenario())
            log = (shared_tmp / "helper.log").read_text()
            assert "read nothing for" in log, log[-2000:]  # the wedge happened and was seen
            assert answered is not None and answered < 6.0, answered
            assert helper.poll() is None
        finally:
            helper.terminate()
            helper.wait(timeout=15)


async def _close(buses: list[MessageBus]) -> None:
    for bus in buses:
        bus.disconnect()
    waits = asyncio.gather(*(b.wait_for_disconnect() for b in buses), return_exceptions=True)
    await asyncio.wait_for(waits, 10)  # their sockets close in the loop


def test_the_session_agent_reports_again_after_the_bus_restarts(
    rbus: RestartableBus, shared_tmp: Path
) -> None:
    """The real agent (headless: it reports focus as unknown, with the reason) is forgotten with the
    old connection and reports again on the new bus, without a restart of its own."""
    helper = start_helper(rbus.address, shared_tmp)
    assert back_within(rbus.address, 15) is not None
    # A fresh dbus-daemon hands out :1.0, :1.1, ... again: without these the agent could get the
    # same unique name on both buses, and a report the helper failed to drop would go unseen.
    fill = asyncio.new_event_loop()
    fillers = [fill.run_until_complete(connect(rbus.address)) for _ in range(150)]
    env = {"WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland", "PATH": "/usr/bin:/bin"}
    agent_log = shared_tmp / "agent.log"
    with agent_log.open("wb") as log:
        agent = subprocess.Popen(
            [sys.executable, "-m", "smoothdesk.agent", "--bus", rbus.address, "--no-audio"],
            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=log,
        )  # fmt: skip

    def found_helper() -> int:  # the agent logs "helper is :1.N" each time it finds the helper
        return agent_log.read_text().count("helper is :")

    def reported() -> bool:
        answer = status(rbus.address)
        return answer is not None and any(str(u).startswith("focus: ") for u in answer["unmeasured"])  # type: ignore[attr-defined]

    try:
        assert wait_for(reported, 20) and found_helper() == 1
        rbus.restart()
        assert back_within(rbus.address, 15) is not None
        assert wait_for(lambda: found_helper() == 2, 20)  # the agent followed the name back
        assert wait_for(lambda: reporters(rbus.address) >= 1 and reported(), 10)
        time.sleep(0.5)  # its first reports after finding the helper
        # ... and its report from the old connection was dropped, not kept beside the new one.
        answer = status(rbus.address)
        assert answer is not None and answer["reporters"] == 1, answer
        assert sum(str(u).startswith("focus: ") for u in answer["unmeasured"]) == 1, answer  # type: ignore[attr-defined]
        assert agent.poll() is None
    finally:
        agent.terminate()
        agent.wait(timeout=15)
        fill.run_until_complete(_close(fillers))
        fill.close()
        helper.terminate()
        helper.wait(timeout=30)
