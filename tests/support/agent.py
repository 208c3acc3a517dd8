"""A scripted D-Bus client for tests: run as any uid, it makes calls and prints what came back.

Usage: python -m tests.support.agent ADDRESS '[["Method", arg, ...], ...]'
Dict arguments go as a{sv} of strings. For ReportFocusFd the argument is "pidfd:PID" (the agent
opens a pidfd for PID) or "file:PATH" (a plain file descriptor). One JSON line per call:
{"ok": [results]} or {"error": name, "message": text}.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

from dbus_fast import Variant

from smoothdesk.dbus.client import HelperClient, connect
from smoothdesk.dbus.errors import BusError


def _arg(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: Variant("s", v) for k, v in value.items()}
    return value


async def _one(client: HelperClient, method: str, args: list[Any]) -> dict[str, Any]:
    try:
        if method == "ReportFocusFd":
            kind, _, what = str(args[0]).partition(":")
            fd = os.pidfd_open(int(what)) if kind == "pidfd" else os.open(what, os.O_RDONLY)
            try:
                return {"ok": await client.call(method, 0, unix_fds=[fd])}
            finally:
                os.close(fd)
        return {"ok": await client.call(method, *[_arg(a) for a in args])}
    except BusError as exc:
        return {"error": exc.name, "message": str(exc)}


async def main(address: str, calls: list[list[Any]]) -> None:
    client = HelperClient(await connect(address, unix_fds=True))
    for method, *args in calls:
        print(json.dumps(await _one(client, method, args), default=str), flush=True)
    client.bus.disconnect()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], json.loads(sys.argv[2])))
