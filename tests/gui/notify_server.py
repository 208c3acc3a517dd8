"""A fake org.freedesktop.Notifications server (dbus-fast, own thread) on a private bus, recording calls."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dbus_fast import Message, MessageType
from dbus_fast.aio import MessageBus

NAME = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"


class FakeServer:
    """Answers Notify like a notification daemon (ids from 1) and can press an action button."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.calls: list[dict[str, Any]] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.bus: MessageBus | None = None

    def start(self) -> None:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)

    async def _start(self) -> None:
        self.bus = await MessageBus(bus_address=self.address).connect()
        self.bus.add_message_handler(self._handle)
        await self.bus.request_name(NAME)

    def _handle(self, msg: Message) -> Message | None:
        if msg.message_type != MessageType.METHOD_CALL or msg.interface != NAME:
            return None
        if msg.member == "Notify" and msg.signature == "susssasa{sv}i":
            app, _replaces, icon, summary, body, actions, hints, _timeout = msg.body
            nid = len(self.calls) + 1
            self.calls.append(
                {"id": nid, "app": app, "icon": icon, "summary": summary, "body": body,
                 "actions": actions, "urgency": hints["urgency"].value, "sender": msg.sender}
            )  # fmt: skip
            return Message.new_method_return(msg, "u", [nid])
        if msg.member == "GetCapabilities":
            return Message.new_method_return(msg, "as", [["actions", "body"]])
        return Message.new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod", str(msg.member))

    def click(self, nid: int, key: str) -> None:
        """What a notification daemon sends when the user presses an action button."""
        signal = Message.new_signal(PATH, NAME, "ActionInvoked", "us", [nid, key])
        self.loop.call_soon_threadsafe(lambda: self.bus.send(signal) if self.bus else None)

    async def _stop(self) -> None:
        if self.bus is not None:
            self.bus.disconnect()
            await self.bus.wait_for_disconnect()

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@contextmanager
def fake_notifications(address: str) -> Iterator[FakeServer]:
    server = FakeServer(address)
    server.start()
    try:
        yield server
    finally:
        server.stop()
