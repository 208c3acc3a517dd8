"""ReportUnknown on a real helper: a source that measures nothing is not "none", "silence" or "idle"."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from smoothdesk.dbus.client import HelperClient, connect
from smoothdesk.dbus.errors import INVALID_ARGS, BusError
from smoothdesk.dbus.procref import start_time
from tests.agent.agent_support import app_of, has, lacks
from tests.support.procs import wait_for
from tests.support.user_helper import UserHelper

PLAYS = "plays audio"


@pytest.fixture
def player() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(["sleep", "600"], process_group=0)
    yield proc
    proc.kill()
    proc.wait(timeout=5)


def run(bus: str, calls: list[tuple[str, tuple[Any, ...]]]) -> list[Any]:
    """Each call on one connection, in order: its result, or the BusError it raised."""

    async def go() -> list[Any]:
        client = HelperClient(await connect(bus))
        out: list[Any] = []
        try:
            for method, args in calls:
                try:
                    out.append(await client.call(method, *args))
                except BusError as exc:
                    out.append(exc)
            # The reports last as long as the connection: read the status before closing it.
            out.append(await client.status())
        finally:
            client.bus.disconnect()
            await client.bus.wait_for_disconnect()  # type: ignore[no-untyped-call]
        return out

    return asyncio.run(go())


@pytest.mark.parametrize(
    ("kind", "reason", "named"),
    [("volume", "why", "kind"), ("audio", "", "reason"), ("audio", "two\nlines", "reason"),
     ("focus", "x" * 513, "reason")],
)  # fmt: skip
def test_a_bad_unknown_report_is_refused_naming_the_argument(
    user_helper: UserHelper, kind: str, reason: str, named: str
) -> None:
    error, status = run(user_helper.bus, [("ReportUnknown", (kind, reason))])
    assert isinstance(error, BusError) and error.name == INVALID_ARGS, error
    assert f"argument {named!r}" in str(error)
    assert status["unmeasured"] == []


def test_unknown_audio_drops_the_hint_and_says_why_until_the_next_report(
    user_helper: UserHelper, player: subprocess.Popen[bytes]
) -> None:
    bus = user_helper.bus
    pid = player.pid
    start = start_time(pid)
    assert start is not None

    # A hint on a process the helper's snapshot does not hold yet is pruned as gone: wait for it.
    assert wait_for(lambda: app_of(bus, pid) is not None, 15)

    async def scenario() -> None:
        client = HelperClient(await connect(bus))
        try:
            await client.report_audio([(pid, start)])
            await client.report_idle(3.0)
            assert await asyncio.to_thread(wait_for, lambda: has(bus, pid, PLAYS), 15)
            await client.call("ReportUnknown", "audio", "no sound server: Connection refused")
            await client.call("ReportUnknown", "idle", "X screensaver extension: connection closed")
            status = await client.status()
            assert status["unmeasured"] == [
                "audio: no sound server: Connection refused",
                "idle: X screensaver extension: connection closed",
            ]
            assert status["input_idle"] == -1.0  # no idle time rather than one that keeps growing
            # Not measured is no audio hint either: the app keeps only its grace ("played audio").
            assert await asyncio.to_thread(wait_for, lambda: lacks(bus, pid, PLAYS), 15)
            await client.report_audio([(pid, start)])
            status = await client.status()
            assert status["unmeasured"] == ["idle: X screensaver extension: connection closed"]
            assert await asyncio.to_thread(wait_for, lambda: has(bus, pid, PLAYS), 15)
        finally:
            client.bus.disconnect()
            await client.bus.wait_for_disconnect()  # type: ignore[no-untyped-call]
        # The reporter left the bus: what it could not measure goes with it.
        assert await asyncio.to_thread(wait_for, lambda: run(bus, [])[-1]["unmeasured"] == [], 15)

    asyncio.run(scenario())
