"""ReportXruns on a real user-mode helper: counted per tick, checked, and gone with the reporter."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from smoothdesk.dbus.client import HelperClient, connect
from smoothdesk.dbus.errors import INVALID_ARGS, BusError
from smoothdesk.dbus.procref import start_time
from tests.integration.test_helper_reports import helper, until  # noqa: F401  (fixture)


def test_xruns_are_judged_only_while_a_source_reports(helper: str) -> None:  # noqa: F811
    me, start = os.getpid(), start_time(os.getpid())
    assert start is not None

    async def scenario() -> None:
        reader = HelperClient(await connect(helper))
        agent = HelperClient(await connect(helper))

        async def samples() -> list[dict[str, Any]]:
            return await reader.history(30.0)

        async def latest_has(key: str) -> bool:
            got = await samples()
            return bool(got) and key in got[-1]

        assert await until(lambda: _ticks(reader, 2))
        assert all("audio_xruns" not in s for s in await samples())
        await agent.report_xruns("pipewire", 0, [])
        assert await until(lambda: latest_has("audio_xruns"))
        await agent.report_xruns("pipewire", 7, [(me, start, 5)])

        async def seven() -> bool:
            return any(s.get("audio_xruns") == 7.0 for s in await samples())

        assert await until(seven), await samples()
        hit = next(s for s in await samples() if s.get("audio_xruns") == 7.0)
        assert sum(v for k, v in hit.items() if k.startswith("audio_xruns:")) == 5.0, hit
        assert hit["score"] <= 50.0 + 1e-6  # 7 xruns: the xrun ramp is at its worst
        try:
            await agent.report_xruns("pipewire", 1, [(me, start, 2)])
            raise AssertionError("more per process than in all was accepted")
        except BusError as exc:
            assert exc.name == INVALID_ARGS and "'clients'" in str(exc), exc
        # The reporter leaves the bus: its source goes with it, and the figure with the source.
        agent.bus.disconnect()

        async def gone() -> bool:
            return not await latest_has("audio_xruns")

        assert await until(gone), (await samples())[-1]
        reader.bus.disconnect()

    asyncio.run(scenario())


async def _ticks(client: HelperClient, n: int) -> bool:
    return len(await client.history(30.0)) >= n
