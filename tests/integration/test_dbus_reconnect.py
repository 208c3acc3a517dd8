"""The helper never lingers off the bus: a real dbus-daemon is restarted, killed, or wedged by a
client that never reads, and the helper is back (or has exited non-zero, restoring) within 5 s."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from dbus_fast import Message

from smoothdesk.dbus.client import HelperClient, connect
from smoothdesk.dbus.errors import BusError
from tests.support.bus import CONFIG, RestartableBus
from tests.support.procs import named_binary, sched_state, spawn_hog, stop, wait_for
from tests.support.users import REPO

pytestmark = pytest.mark.root

# The bus daemon stops reading a sender while this many of its bytes wait in other connections'
# queues (libdbus's live-messages counter). The system bus default is 127 MB; 1 MB is quick.
TIGHT = CONFIG.replace(
    "<auth>EXTERNAL</auth>",
    '<auth>EXTERNAL</auth>\n  <limit name="max_incoming_bytes">1000000</limit>\n'
    '  <limit name="max_outgoing_bytes">100000000</limit>',
)


@pytest.fixture
def rbus() -> Iterator[RestartableBus]:
    with RestartableBus() as bus:
        yield bus


def start_helper(address: str, tmp: Path, tick: float = 0.2) -> subprocess.Popen[bytes]:
    config = tmp / "c.toml"
    config.write_text("[rules]\nananicy_dirs = []\n")
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
        bus.disconnect()


def status(address: str) -> dict[str, object] | None:
    return asyncio.run(_status(address))


def back_within(address: str, seconds: float) -> float | None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        if status(address) is not None:
            return time.monotonic() - t0
        time.sleep(0.05)
    return None


def test_back_on_a_restarted_bus_within_5s(rbus: RestartableBus, shared_tmp: Path) -> None:
    hog = spawn_hog(named_binary(shared_tmp, "cc1plus"))
    original = sched_state(hog.pid)
    helper = start_helper(rbus.address, shared_tmp)
    try:
        assert wait_for(lambda: sched_state(hog.pid) != original, 15)  # a lever is on
        for round_ in range(2):
            rbus.restart()
            took = back_within(rbus.address, 5.0)
            assert took is not None, f"round {round_}: not back on the new bus within 5 s"
            assert helper.poll() is None and sched_state(hog.pid) != original  # levers stayed on

        # NameOwnerChanged is subscribed again: a reporter that leaves stops counting at once.
        async def reporter_leaves() -> tuple[int, int]:
            bus = await connect(rbus.address)
            await HelperClient(bus).report_idle(3.0)
            during = (await _status(rbus.address))["reporters"]  # type: ignore[index]
            bus.disconnect()
            await asyncio.sleep(0.5)
            after = (await _status(rbus.address))["reporters"]  # type: ignore[index]
            return int(during), int(after)  # type: ignore[call-overload]

        assert asyncio.run(reporter_leaves()) == (1, 0)
        ticks = status(rbus.address)["ticks"]  # type: ignore[index]
        time.sleep(1.0)
        assert status(rbus.address)["ticks"] > ticks  # type: ignore[index, operator]
    finally:
        helper.terminate()
        assert helper.wait(timeout=15) == 0
        stop(hog)
    assert "reconnection 2" in (shared_tmp / "helper.log").read_text()


def test_exits_nonzero_and_restores_when_the_bus_stays_away(rbus: RestartableBus, shared_tmp: Path) -> None:
    hog = spawn_hog(named_binary(shared_tmp, "cc1plus"))
    original = sched_state(hog.pid)
    helper = start_helper(rbus.address, shared_tmp)
    try:
        assert wait_for(lambda: sched_state(hog.pid) != original, 15)
        rbus.kill()
        t0 = time.monotonic()
        code = helper.wait(timeout=15)
        took = time.monotonic() - t0
        assert code == 1, code  # non-zero: systemd's Restart=on-failure brings it back
        assert took < 5.0 + 1.0, took  # 4 s of trying, then the restore
        assert sched_state(hog.pid) == original  # nothing left unrestored
    finally:
        if helper.poll() is None:
            helper.terminate()
            helper.wait(timeout=15)
        stop(hog)
    assert "exiting so that the service manager restarts" in (shared_tmp / "helper.log").read_text()


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
                return answered, stuck

            answered, _ = asyncio.run(scenario())
            log = (shared_tmp / "helper.log").read_text()
            assert "read nothing for" in log, log[-2000:]  # the wedge happened and was seen
            assert answered is not None and answered < 6.0, answered
            assert helper.poll() is None
        finally:
            helper.terminate()
            helper.wait(timeout=15)
