"""What the agent tests share: reading the real helper's view of an app by pid."""

from __future__ import annotations

import asyncio
from typing import Any

from smoothdesk.dbus.client import HelperClient, connect
from smoothdesk.dbus.errors import BusError


def app_of(bus: str, pid: int) -> dict[str, Any] | None:
    """The helper's GetApp for the group holding `pid` (None until the helper has seen it)."""

    async def ask() -> dict[str, Any] | None:
        client = HelperClient(await connect(bus))
        try:
            return await client.app(str(pid))
        except BusError:
            return None
        finally:
            client.bus.disconnect()
            await client.bus.wait_for_disconnect()  # type: ignore[no-untyped-call]

    return asyncio.run(ask())


def has(bus: str, pid: int, reason: str, klass: str = "interactive") -> bool:
    """True when the app of `pid` is in `klass` with `reason` in its reason chain."""
    app = app_of(bus, pid)
    return app is not None and app["class"] == klass and any(reason in r for r in app["reasons"])


def lacks(bus: str, pid: int, reason: str) -> bool:
    app = app_of(bus, pid)
    return app is not None and not any(reason in r for r in app["reasons"])


def unmeasured(bus: str) -> list[str]:
    """The helper's GetStatus "unmeasured": what some agent says it cannot tell now ("audio: why")."""

    async def ask() -> list[str]:
        client = HelperClient(await connect(bus))
        try:
            return list((await client.status()).get("unmeasured", []))
        finally:
            client.bus.disconnect()
            await client.bus.wait_for_disconnect()  # type: ignore[no-untyped-call]

    return asyncio.run(ask())
