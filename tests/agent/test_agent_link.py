"""The agent's link to the helper outlives a bus that dies under a pending report, and a stop mid-call."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from smoothdesk.agent.link import HelperLink
from smoothdesk.dbus.client import HelperClient
from tests.support.bus import private_bus
from tests.support.procs import stop, wait_for

REPO = Path(__file__).resolve().parents[2]
# Owns the helper's bus name, says so, then is frozen by the test: calls to it stay pending.
PEER = """
import asyncio, sys
from dbus_fast.aio import MessageBus
from smoothdesk.dbus.names import BUS_NAME
async def main():
    bus = await MessageBus(bus_address=sys.argv[1]).connect()
    await bus.request_name(BUS_NAME)
    print("ready", flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""


def daemon_pid(address: str) -> int:
    socket_dir = address.split("path=", 1)[1].split(",", 1)[0].rsplit("/", 1)[0]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"dbus-daemon" in cmdline and f"{socket_dir}/bus.conf".encode() in cmdline:
                return int(entry.name)
    raise AssertionError(f"no dbus-daemon for {address}")


class LinkThread:
    """A HelperLink running on its own thread, as the agent runs it; keeps what escaped it."""

    def __init__(self, address: str) -> None:
        self.calls: list[bool] = []
        self.escaped: list[BaseException] = []
        self.link = HelperLink(address, self.sync)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._main, daemon=True)

    async def sync(self, client: HelperClient, fresh: bool) -> None:
        self.calls.append(fresh)
        await client.status()  # never answered by the frozen peer

    def _main(self) -> None:
        try:
            self.loop.run_until_complete(self.link.run())
        except BaseException as exc:  # what the agent's thread would die of
            self.escaped.append(exc)
        finally:
            self.loop.close()

    def stop(self) -> None:
        """As the agent stops its link: from another thread, through the loop."""
        self.loop.call_soon_threadsafe(self.link.stop)
        self.thread.join(timeout=15)


@pytest.fixture
def frozen_peer() -> Iterator[tuple[str, subprocess.Popen[str]]]:
    with private_bus() as address:
        peer = subprocess.Popen(
            [sys.executable, "-c", PEER, address], cwd=REPO, stdout=subprocess.PIPE, text=True
        )
        try:
            assert peer.stdout is not None and peer.stdout.readline() == "ready\n"
            peer.send_signal(signal.SIGSTOP)
            yield address, peer
        finally:
            peer.send_signal(signal.SIGCONT)
            stop(peer)  # type: ignore[arg-type]
            if peer.stdout is not None:
                peer.stdout.close()


def test_a_bus_that_dies_under_a_pending_report_is_reconnected_to(
    frozen_peer: tuple[str, Any],
) -> None:
    address, _ = frozen_peer
    runner = LinkThread(address)
    runner.thread.start()
    try:
        assert wait_for(lambda: runner.calls == [True], 15)  # the report is pending
        os.kill(daemon_pid(address), signal.SIGKILL)
        assert wait_for(lambda: "lost the" in runner.link.error or "No such file" in runner.link.error, 15), (
            runner.link.error,
            runner.escaped,
        )
        assert runner.thread.is_alive(), runner.escaped  # still trying to reconnect
    finally:
        runner.stop()
    assert runner.escaped == []


def test_stopping_while_a_report_is_pending_is_quiet(frozen_peer: tuple[str, Any]) -> None:
    address, _ = frozen_peer
    runner = LinkThread(address)
    runner.thread.start()
    assert wait_for(lambda: runner.calls == [True], 15)
    runner.stop()
    assert not runner.thread.is_alive()
    assert runner.escaped == []
