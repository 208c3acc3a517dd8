"""Keeps the helper on its bus: notices a lost or wedged connection and reconnects, or gives up.

A root service that runs on but is off the bus is a silent outage. The link watches for the
connection's end (dbus-daemon restarted or crashed, the socket closed) and for a connection
that holds unwritten bytes and has written none for `stall_limit` seconds: the bus daemon
stops reading a sender whose messages fill a slow reader's queue (its max_incoming_bytes
counts them), so a client that never reads can wedge it, and only a fresh connection frees it.
Then it reconnects with backoff (`open` takes the name and subscribes to NameOwnerChanged
again; agents follow the name and report again). If that fails for `give_up_after` seconds,
`on_give_up` runs (the helper exits non-zero and systemd's Restart= brings it back).
Nothing here touches ticks or levers: they go on while the bus is away.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from dbus_fast.aio import MessageBus

from smoothdesk.dbus import connection

log = logging.getLogger("smoothdesk.helper")

STALL_LIMIT = 3.0
GIVE_UP_AFTER = 3.0  # then restore and exit: within 5 s of the loss in all
POLL = 0.25
IDLE_POLL = 1.0


class BusLink:
    def __init__(
        self,
        open_bus: Callable[[], Awaitable[MessageBus]],
        on_lost: Callable[[], None],
        on_give_up: Callable[[str], None],
        *,
        stall_limit: float = STALL_LIMIT,
        give_up_after: float = GIVE_UP_AFTER,
    ) -> None:
        self.open_bus = open_bus
        self.on_lost = on_lost
        self.on_give_up = on_give_up
        self.stall_limit = stall_limit
        self.give_up_after = give_up_after
        self.bus: MessageBus | None = None
        self.reconnects = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Connect once (failing loudly, as at start-up), then watch in the background."""
        self.bus = await self.open_bus()
        self._task = asyncio.ensure_future(self._watch())

    async def _watch(self) -> None:
        while True:
            bus = self.bus
            assert bus is not None
            why = await self._until_lost(bus)
            log.warning("lost the bus connection (%s); reconnecting", why)
            self.bus = None
            with contextlib.suppress(Exception):
                bus.disconnect()
            self.on_lost()
            if not await self._reconnect():
                self.on_give_up(why)
                return

    async def _until_lost(self, bus: MessageBus) -> str:
        gone = asyncio.ensure_future(bus.wait_for_disconnect())  # type: ignore[no-untyped-call]
        try:
            while True:
                # Nothing waiting to be written cannot stall: look again after IDLE_POLL, and
                # every POLL once bytes wait (a stall is still seen within STALL_LIMIT + POLL).
                idle = connection.backlog(bus) == 0
                done, _ = await asyncio.wait({gone}, timeout=IDLE_POLL if idle else POLL)
                if done:
                    exc = gone.exception()
                    return f"disconnected: {exc}" if exc else "disconnected"
                stalled = connection.stalled_for(bus)
                if stalled > self.stall_limit:
                    held = connection.backlog(bus)
                    return f"the bus daemon read nothing for {stalled:.1f} s with {held} bytes waiting"
        finally:
            gone.cancel()
            with contextlib.suppress(BaseException):
                await gone

    async def _reconnect(self) -> bool:
        deadline = time.monotonic() + self.give_up_after
        delay = 0.1
        while True:
            try:
                self.bus = await asyncio.wait_for(self.open_bus(), max(0.1, deadline - time.monotonic()))
            except Exception as exc:
                left = deadline - time.monotonic()
                if left <= 0:
                    log.error("could not get back on the bus: %s", exc)
                    return False
                await asyncio.sleep(min(delay, left))
                delay = min(delay * 2, 1.0)
                continue
            self.reconnects += 1
            log.info("back on the bus (reconnection %d)", self.reconnects)
            return True

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
        if self.bus is not None:
            self.bus.disconnect()
            self.bus = None
