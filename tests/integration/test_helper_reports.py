"""Session agents' reports on a real user-mode helper: kept per connection, gone when it leaves."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from smoothdesk.dbus.client import HelperClient, connect
from smoothdesk.dbus.errors import BusError
from smoothdesk.dbus.procref import start_time
from tests.support.procs import wait_for

CONFIG = "[helper]\ntick = 0.5\n[rules]\nananicy_dirs = []\n"


@pytest.fixture
def helper(bus_address: str, tmp_path: Path) -> Iterator[str]:
    """A user-mode helper in dry run (it decides, changes nothing) on a private bus."""
    (tmp_path / "c.toml").write_text(CONFIG)
    log = tmp_path / "helper.log"
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "smoothdesk.helper.main", "--bus", bus_address, "--user", "--dry-run",
             "--config", str(tmp_path / "c.toml"), "--run-dir", str(tmp_path / "run")],
            stderr=err,
        )  # fmt: skip
    try:
        assert wait_for(lambda: "serving org.smoothdesk.Helper1" in log.read_text(), 20), log.read_text()
        yield bus_address
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0, log.read_text()


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(["sleep", "600"], process_group=0)
    yield proc
    proc.kill()
    proc.wait(timeout=5)


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 15.0) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.05)
    return await check()


def reasons(app: dict[str, Any]) -> str:
    return " | ".join(app["reasons"])


def test_focus_is_per_connection_and_leaves_with_it(helper: str, sleeper: subprocess.Popen[bytes]) -> None:
    pid = sleeper.pid
    start = start_time(pid)
    assert start is not None

    async def scenario() -> None:
        reader = HelperClient(await connect(helper))
        agent = HelperClient(await connect(helper))
        other = HelperClient(await connect(helper))

        async def app() -> dict[str, Any]:
            return await reader.app(str(pid))

        async def focused() -> bool:
            a = await app()
            return a["class"] == "interactive" and "has the focused window" in reasons(a)

        assert await until(lambda: _known(reader, pid))
        assert "focus" not in reasons(await app())
        await agent.report_focus(pid, start)
        assert await until(focused), await app()
        # Another session saying "nothing is focused" speaks only for itself.
        await other.report_focus(0, 0)
        await asyncio.sleep(1.2)  # two ticks
        assert await focused(), await app()
        await agent.report_idle(12.5)
        status = await reader.status()
        assert 12.5 <= status["input_idle"] < 20 and status["reporters"] == 2, status
        # The agent crashes (its connection goes): its focus does not linger.
        await close(agent)
        assert await until(lambda: _not_focused(app)), await app()
        assert await until(lambda: _reporters(reader, 1))
        # The same agent, reconnected, is a new reporter.
        again = HelperClient(await connect(helper))
        await again.report_focus(pid, start)
        assert await until(focused), await app()
        await again.report_focus(0, 0)
        assert await until(lambda: _not_focused(app)), await app()
        for client in (reader, other, again):
            await close(client)

    asyncio.run(scenario())


async def close(client: HelperClient) -> None:
    client.bus.disconnect()
    await client.bus.wait_for_disconnect()


async def _known(client: HelperClient, pid: int) -> bool:
    return any(pid in a["pids"] for a in await client.apps())


async def _not_focused(app: Callable[[], Awaitable[dict[str, Any]]]) -> bool:
    return "has the focused window" not in reasons(await app())


async def _reporters(client: HelperClient, count: int) -> bool:
    return bool((await client.status())["reporters"] == count)


@pytest.mark.parametrize("seconds", [-1.0, float("nan"), float("inf"), 1e12])
def test_bad_idle_is_refused_by_name(helper: str, seconds: float) -> None:
    async def scenario() -> None:
        client = HelperClient(await connect(helper))
        try:
            with pytest.raises(BusError, match="seconds"):
                await client.report_idle(seconds)
            assert (await client.status())["input_idle"] == -1.0
        finally:
            await close(client)

    asyncio.run(scenario())
