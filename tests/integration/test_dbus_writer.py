"""Writes that survive a full socket: a real dbus-daemon is paused (SIGSTOP) under a burst."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import time
from collections.abc import Iterator

import pytest
from dbus_fast import Message, MessageType
from dbus_fast.aio import MessageBus

from smoothdesk.dbus import connection
from smoothdesk.dbus.client import connect
from tests.support.bus import RestartableBus

COUNT = 400
BODY = "x" * 8192


@pytest.fixture
def rbus() -> Iterator[RestartableBus]:
    with RestartableBus() as bus:
        yield bus


def _signal(i: int) -> Message:
    return Message.new_signal("/t", "org.smoothdesk.Test", "Burst", "us", [i, BODY])


async def _receiver(address: str) -> tuple[MessageBus, list[int]]:
    bus = await connect(address)
    got: list[int] = []
    bus.add_message_handler(
        lambda m: (
            got.append(m.body[0]) if m.message_type == MessageType.SIGNAL and m.member == "Burst" else None
        )
    )
    await bus.call(
        Message(destination="org.freedesktop.DBus", path="/org/freedesktop/DBus",
                interface="org.freedesktop.DBus", member="AddMatch", signature="s",
                body=["type='signal',interface='org.smoothdesk.Test'"])
    )  # fmt: skip
    return bus, got


def _small_buffer(bus: MessageBus) -> None:
    sock = socket.socket(fileno=os.dup(bus._fd))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    sock.close()


def test_full_socket_keeps_connection_and_every_message(rbus: RestartableBus) -> None:
    assert rbus.proc is not None

    async def scenario() -> tuple[int, bool, float, list[int], int]:
        receiver, got = await _receiver(rbus.address)
        sender = await connect(rbus.address)
        _small_buffer(sender)
        os.kill(rbus.proc.pid, signal.SIGSTOP)
        try:
            for i in range(COUNT):
                sender.send(_signal(i))
                if i % 50 == 0:
                    await asyncio.sleep(0.01)  # let the writer hit the full socket from the loop too
            await asyncio.sleep(0.3)
            eagain = connection.writer(sender).eagain  # type: ignore[union-attr]
            stalled = connection.stalled_for(sender)
            held = connection.backlog(sender)
        finally:
            os.kill(rbus.proc.pid, signal.SIGCONT)
        deadline = time.monotonic() + 20
        while len(got) < COUNT and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        alive = sender.connected
        after = connection.backlog(sender)
        for b in (sender, receiver):
            b.disconnect()
        return eagain, alive, stalled, got, held - after

    eagain, alive, stalled, got, drained = asyncio.run(scenario())
    assert eagain > 0, "the socket never filled: the test did not exercise EAGAIN"
    assert stalled > 0.2
    assert drained > COUNT * len(BODY) // 2  # most of the burst was held, then written
    assert alive
    assert got == list(range(COUNT))  # nothing lost, nothing reordered


def test_stock_dbus_fast_writer_still_drops_the_bus_on_eagain(rbus: RestartableBus) -> None:
    """Why dbus/connection.py exists. If this fails, dbus-fast fixed EAGAIN: drop the wrapper."""
    assert rbus.proc is not None

    async def scenario() -> tuple[bool, BaseException | None]:
        sender = await MessageBus(bus_address=rbus.address).connect()
        _small_buffer(sender)
        os.kill(rbus.proc.pid, signal.SIGSTOP)
        sent = []
        try:
            for i in range(COUNT):
                if not sender.connected:
                    break
                try:
                    sent.append(sender.send(_signal(i)))
                except OSError:
                    break  # dbus-fast then registers a writer on the fd it just closed: EBADF
                if i % 50 == 0:
                    await asyncio.sleep(0.01)
            await asyncio.sleep(0.3)
        finally:
            os.kill(rbus.proc.pid, signal.SIGCONT)
        await asyncio.gather(*sent, return_exceptions=True)  # retrieve every send's outcome
        error = None
        try:
            await asyncio.wait_for(sender.wait_for_disconnect(), 5)
        except BlockingIOError as exc:
            error = exc
        except TimeoutError:
            sender.disconnect()
        return sender.connected, error

    alive, error = asyncio.run(scenario())
    assert not alive and isinstance(error, BlockingIOError)
