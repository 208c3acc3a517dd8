"""The gate: admitted calls are served and metered, refusals wait in the tarpit, overflow drops."""

from __future__ import annotations

import asyncio
import time

from dbus_fast import Message, MessageType

from smoothdesk.dbus.gate import Gate, Meter
from smoothdesk.dbus.ratelimit import Limits, Quotas


def call(sender: str, serial: int) -> Message:
    msg = Message(destination="org.smoothdesk.Helper1", path="/org/smoothdesk/Helper1", member="GetStatus")
    msg.sender, msg.serial = sender, serial
    return msg


def test_served_refused_after_delay_and_dropped_past_the_tarpit() -> None:
    sent: list[Message] = []
    total = [0]

    def send(msg: Message) -> None:
        sent.append(msg)
        total[0] += 1000  # what the writer would have queued

    quotas = Quotas(Limits(max_names=1, max_pending=10))
    gate = Gate(quotas, send, lambda: total[0], refuse_delay=0.2, max_tarpit=1)

    async def serve(meter: Meter) -> Message:
        meter.run(lambda: sum(range(20000)))  # some CPU, charged to the caller
        return Message.new_method_return(call(":1.1", 1), "s", ["ok"])

    async def scenario() -> tuple[float, float]:
        held = asyncio.Event()

        async def slow(meter: Meter) -> Message:
            await held.wait()
            return await serve(meter)

        first = asyncio.ensure_future(gate.through(call(":1.1", 1), 1000, False, slow))
        await asyncio.sleep(0)
        t0 = time.monotonic()
        refused = asyncio.ensure_future(gate.through(call(":1.2", 2), 1000, False, serve))
        await asyncio.sleep(0.05)
        await gate.through(call(":1.3", 3), 1000, False, serve)  # the tarpit is full: dropped at once
        dropped_after = time.monotonic() - t0
        await refused
        refused_after = time.monotonic() - t0
        held.set()
        await first
        return refused_after, dropped_after

    refused_after, dropped_after = asyncio.run(scenario())
    assert refused_after >= 0.2 and dropped_after < 0.15
    assert gate.dropped == 1
    kinds = [(m.message_type, m.error_name) for m in sent]
    assert kinds == [
        (MessageType.ERROR, "org.smoothdesk.Error.RateLimited"),
        (MessageType.METHOD_RETURN, None),
    ]
    acct = quotas.account(1000)
    assert acct is not None and acct.pending == 0 and not acct.names
    assert acct.sent.tokens < acct.sent.burst  # the 1000 reply bytes were charged
    assert acct.cpu.tokens < acct.cpu.burst  # and the CPU
