"""Every incoming call passes this gate: quota per uid, a tarpit for refusals, cached heavy reads.

A refused call is answered after `refuse_delay`, not at once: a flooder that waits for its
replies is then slowed to a few calls per second per connection instead of making the helper
write thousands of error replies. At most `max_tarpit` refusals wait at once; past that (a
caller pipelining without reading) further calls are dropped unanswered, which costs nothing.

Heavy reads (reports, long history, doctor) are one at a time per uid, and their replies are
kept for a few seconds (at most `ReplyCache.max_entries` of them), so repeating one is free.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from dbus_fast import Message

from smoothdesk.dbus import errors
from smoothdesk.dbus.ratelimit import Quotas, Refused

log = logging.getLogger(__name__)

OVERHEAD = 0.0002  # CPU seconds per call spent outside the handler (unmarshal, task, dispatch)
LONG_HISTORY = 600.0
_NO_REPLY_EXPECTED = 0x1
TTL = {"GetReport": 5.0, "GetHistory": 1.0, "GetDoctor": 2.0}


def _span(value: Any) -> float | None:
    if isinstance(value, float) and math.isfinite(value) and value > 0:
        return min(value, 1e12)
    return None


def heavy_key(member: str, args: list[Any]) -> tuple[Any, ...] | None:
    """The cache key of a heavy read, or None for a light call (or arguments that fail checks)."""
    if member == "GetReport" and len(args) == 2 and (span := _span(args[0])) and isinstance(args[1], str):
        return (member, round(span), args[1])
    if member == "GetHistory" and len(args) == 1 and (span := _span(args[0])) and span >= LONG_HISTORY:
        return (member, round(span))
    if member == "GetDoctor" and not args:
        return (member,)
    return None


class ReplyCache:
    """Reply bodies of heavy reads for TTL seconds; at most `max_entries`, oldest dropped first."""

    def __init__(self, max_entries: int = 8, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_entries = max_entries
        self.clock = clock
        self.hits = 0
        self._items: OrderedDict[tuple[Any, ...], tuple[float, list[Any]]] = OrderedDict()

    def get(self, key: tuple[Any, ...]) -> list[Any] | None:
        item = self._items.get(key)
        if item is None or item[0] < self.clock():
            return None
        self.hits += 1
        return item[1]

    def put(self, key: tuple[Any, ...], body: list[Any]) -> None:
        self._items[key] = (self.clock() + TTL.get(str(key[0]), 1.0), body)
        self._items.move_to_end(key)
        while len(self._items) > self.max_entries:
            self._items.popitem(last=False)


class Meter:
    """CPU seconds of one call, summed over its synchronous pieces (thread time, so the other
    tasks that run while it awaits are not charged to it)."""

    def __init__(self) -> None:
        self.cpu = OVERHEAD

    def run(self, fn: Callable[[], Any]) -> Any:
        t0 = time.thread_time()
        try:
            return fn()
        finally:
            self.cpu += time.thread_time() - t0


class Gate:
    def __init__(
        self,
        quotas: Quotas,
        send: Callable[[Message], Any],
        accepted: Callable[[], int] = lambda: 0,
        *,
        refuse_delay: float = 0.5,
        max_tarpit: int = 512,
    ) -> None:
        self.quotas = quotas
        self.send = send
        self.accepted = accepted
        self.refuse_delay = refuse_delay
        self.max_tarpit = max_tarpit
        self.cache = ReplyCache()
        self.tarpit = 0
        self.dropped = 0

    async def through(
        self, msg: Message, uid: int, heavy: bool, serve: Callable[[Meter], Awaitable[Message]]
    ) -> None:
        """Admit, wait, serve and send the reply; or send the refusal after the tarpit delay; or
        drop the call. Sending is metered too: marshalling a big reply is most of its cost."""
        try:
            ticket = self.quotas.admit(uid, msg.sender or "", heavy=heavy)
        except Refused as exc:
            await self._refuse(msg, str(exc))
            return
        meter = Meter()
        sent = 0
        try:
            if ticket.wait > 0:
                await asyncio.sleep(ticket.wait)
            reply = await serve(meter)
            if not msg.flags & _NO_REPLY_EXPECTED:
                before = self.accepted()
                meter.run(lambda: self.send(reply))
                sent = self.accepted() - before
        finally:
            self.quotas.done(ticket, meter.cpu, heavy=heavy, sent=sent)

    async def _refuse(self, msg: Message, why: str) -> None:
        if self.tarpit >= self.max_tarpit:
            self.dropped += 1
            if self.dropped % 1000 == 1:
                log.warning("dropping calls unanswered: %d refusals already waiting (%s)", self.tarpit, why)
            return
        self.tarpit += 1
        try:
            await asyncio.sleep(self.refuse_delay)
        finally:
            self.tarpit -= 1
        if not msg.flags & _NO_REPLY_EXPECTED:
            self.send(Message.new_error(msg, errors.RATE_LIMITED, why))
