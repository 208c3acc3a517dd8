"""Back-pressure for the helper's signals on a real connection whose bus daemon stopped reading.

The daemon is paused (SIGSTOP) and a burst fills the helper-side connection past SIGNAL_BACKLOG:
Metrics samples are dropped, not queued, and AppsChanged ids wait coalesced (bounded by
MAX_PENDING_APPS) until the connection drains; then both flow again, in order.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from typing import Any, cast

import pytest
from dbus_fast import Message

from smoothdesk.dbus import connection
from smoothdesk.dbus.client import connect
from smoothdesk.helper.bus import MAX_PENDING_APPS, SIGNAL_BACKLOG, SIGNAL_INTERVAL, BusEndpoint
from tests.support.bus import RestartableBus


class Recorder:
    """The service's emit, recorded: what the endpoint decided to put on the wire."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, tuple[Any, ...]]] = []

    def emit(self, name: str, *args: Any) -> None:
        self.sent.append((name, args))


@pytest.fixture
def rbus() -> Iterator[RestartableBus]:
    with RestartableBus() as bus:
        yield bus


def _endpoint(bus: Any, recorder: Recorder) -> BusEndpoint:
    # Only the signal path is under test: the daemon and controller are never reached by it.
    endpoint = BusEndpoint(cast(Any, None), cast(Any, None))
    endpoint.bus, endpoint.service = bus, cast(Any, recorder)
    return endpoint


def test_a_stalled_connection_drops_metrics_and_coalesces_apps_changed(rbus: RestartableBus) -> None:
    assert rbus.proc is not None

    async def scenario() -> dict[str, Any]:
        bus = await connect(rbus.address)
        recorder = Recorder()
        endpoint = _endpoint(bus, recorder)
        out: dict[str, Any] = {}
        os.kill(rbus.proc.pid, signal.SIGSTOP)
        try:
            body = "x" * 65536
            for i in range(2 * SIGNAL_BACKLOG // len(body) + 8):
                bus.send(Message.new_signal("/t", "org.smoothdesk.Test", "Fill", "us", [i, body]))
            await asyncio.sleep(0.2)
            out["backlog"] = connection.backlog(bus)
            for _ in range(3):
                endpoint._metrics({"time": time.time()})
                await asyncio.sleep(SIGNAL_INTERVAL + 0.05)
            endpoint._apps_changed(["app-a", "app-b"])
            endpoint._apps_changed(["app-b", "app-c"])
            await asyncio.sleep(SIGNAL_INTERVAL * 2 + 0.2)  # two flush intervals pass while behind
            out["while_behind"] = list(recorder.sent)
            out["pending"] = set(endpoint._pending)
            endpoint._apps_changed([f"app-{i}" for i in range(MAX_PENDING_APPS + 1)])
            out["overflow"] = set(endpoint._pending)
        finally:
            os.kill(rbus.proc.pid, signal.SIGCONT)
        deadline = time.monotonic() + 20
        while connection.backlog(bus) > SIGNAL_BACKLOG and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(SIGNAL_INTERVAL * 2 + 0.2)  # the waiting AppsChanged goes out
        endpoint._metrics({"time": time.time()})
        out["after"] = list(recorder.sent)
        out["dropped"] = endpoint.dropped_metrics
        out["connected"] = bus.connected
        if endpoint._flush is not None:
            endpoint._flush.cancel()
        bus.disconnect()
        return out

    out = asyncio.run(scenario())
    assert out["backlog"] > SIGNAL_BACKLOG, "the connection never fell behind: nothing was exercised"
    assert out["while_behind"] == []  # nothing queued behind a stalled daemon
    assert out["dropped"] == 3
    assert out["pending"] == {"app-a", "app-b", "app-c"}  # kept, coalesced
    assert out["overflow"] == {""}  # past the bound: one "refresh everything"
    assert out["connected"]
    names = [name for name, _ in out["after"]]
    assert names == ["AppsChanged", "Metrics"], out["after"]
    assert out["after"][0][1] == ([],)  # the overflow went out as refresh-everything
