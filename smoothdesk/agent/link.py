"""The agent's link to the helper: connects, follows the helper's bus name, reconnects with backoff."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from dbus_fast import Message, MessageType
from dbus_fast.aio import MessageBus

from smoothdesk.dbus.client import HelperClient, connect
from smoothdesk.dbus.errors import BusError
from smoothdesk.dbus.names import BUS_NAME

log = logging.getLogger(__name__)

_DBUS = ("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus")
BACKOFF_MIN, BACKOFF_MAX = 0.5, 30.0
RETRY = 1.0  # after a failed report (helper busy or rate-limiting): try again this soon


def _dbus_call(member: str, arg: str) -> Message:
    return Message(
        destination=_DBUS[0], path=_DBUS[1], interface=_DBUS[2], member=member, signature="s", body=[arg]
    )


class HelperLink:
    """Calls `sync(client)` whenever the helper (re)appears and whenever `poke()` is called.

    `sync` gets a fresh=True after every new helper owner: everything must be sent again, since
    a restarted helper knows nothing of what this agent said before.
    """

    def __init__(self, spec: str, sync: Callable[[HelperClient, bool], Awaitable[None]]) -> None:
        self.spec = spec
        self.sync = sync
        self.owner = ""
        self.error = ""
        self._wake = asyncio.Event()
        self._fresh = True
        self._stopping = False
        self._bus: MessageBus | None = None

    @property
    def connected(self) -> bool:
        return bool(self.owner)

    def poke(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._bus is not None:
            self._bus.disconnect()

    async def run(self) -> None:
        delay = BACKOFF_MIN
        while not self._stopping:
            try:
                bus = await connect(self.spec, unix_fds=True)
            except BusError as exc:
                self.error = str(exc)
                await self._sleep(delay)
                delay = min(BACKOFF_MAX, delay * 2)
                continue
            delay = BACKOFF_MIN
            self._bus = bus
            try:
                await self._serve(bus)
            except (EOFError, ConnectionError) as exc:
                # dbus-fast fails a call that was pending when the connection dropped with EOFError:
                # the bus went away (reconnect below) or stop() disconnected it (we are done).
                if not self._stopping:
                    log.warning("the %s bus went away during a call: %r", self.spec, exc)
            finally:
                self._bus = None
                self.owner = ""
                bus.disconnect()
                with contextlib.suppress(Exception):
                    await bus.wait_for_disconnect()  # type: ignore[no-untyped-call]
            if not self._stopping:
                self.error = f"lost the {self.spec} bus; reconnecting"
                await self._sleep(delay)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)
        self._wake.clear()

    def _on_message(self, msg: Message) -> None:
        if (
            msg.message_type == MessageType.SIGNAL
            and msg.member == "NameOwnerChanged"
            and msg.body[0] == BUS_NAME
        ):
            self._set_owner(str(msg.body[2]))

    def _set_owner(self, owner: str) -> None:
        if owner != self.owner:
            log.info("helper %s", f"is {owner}" if owner else "left the bus")
            self.owner = owner
            self._fresh = True
            self._wake.set()

    async def _serve(self, bus: MessageBus) -> None:
        bus.add_message_handler(self._on_message)
        rule = f"type='signal',sender='{_DBUS[0]}',member='NameOwnerChanged',arg0='{BUS_NAME}'"
        await bus.call(_dbus_call("AddMatch", rule))
        reply = await bus.call(_dbus_call("GetNameOwner", BUS_NAME))
        if reply is not None and reply.message_type == MessageType.METHOD_RETURN:
            self._set_owner(str(reply.body[0]))
        client = HelperClient(bus)
        gone = asyncio.ensure_future(bus.wait_for_disconnect())  # type: ignore[no-untyped-call]
        try:
            while not self._stopping and not gone.done():
                self._wake.clear()
                retry: float | None = None
                if self.owner:
                    fresh, self._fresh = self._fresh, False
                    try:
                        await self.sync(client, fresh)
                        self.error = ""
                    except BusError as exc:
                        self.error, retry = str(exc), RETRY
                        log.warning("report to the helper failed: %s", exc)
                waiter = asyncio.ensure_future(self._wake.wait())
                await asyncio.wait({waiter, gone}, timeout=retry, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
        finally:
            gone.cancel()
