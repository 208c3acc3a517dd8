"""A hostile local user's flood: N connections calling the helper as fast as replies come.

Run as another uid (setpriv): `python -m tests.support.flood ADDRESS CONNECTIONS SECONDS SEED`.
The call mix is issue 17's: GetStatus, ListApps, GetHistory(1e12), GetReport(1e12, html|csv),
SetClass and Pause (to be denied), ImportAnanicy, malformed arguments and unknown methods.
Prints one JSON line: replies by kind, successful mutating calls, calls made.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from typing import Any

from dbus_fast import Message, MessageType
from dbus_fast.aio import MessageBus

DEST = "org.smoothdesk.Helper1"
PATH = "/org/smoothdesk/Helper1"
MUTATING = {"SetClass", "Pause", "ImportAnanicy"}

MIX: list[tuple[str, str, list[Any]]] = [
    ("GetStatus", "", []),
    ("ListApps", "", []),
    ("GetHistory", "d", [1e12]),
    ("GetReport", "ds", [1e12, "html"]),
    ("GetReport", "ds", [1e12, "csv"]),
    ("SetClass", "ssd", ["1", "critical", 0.0]),
    ("Pause", "d", [0.0]),
    ("ImportAnanicy", "s", ["/etc"]),
    ("GetHistory", "s", ["malformed"]),
    ("SetClass", "s", ["x" * 5000]),
    ("NoSuchMethod", "", []),
]


async def one(address: str, end: float, rng: random.Random, kinds: dict[str, int]) -> None:
    bus = await MessageBus(bus_address=address).connect()
    while time.monotonic() < end:
        member, sig, body = rng.choice(MIX)
        msg = Message(destination=DEST, path=PATH, interface=DEST, member=member, signature=sig, body=body)
        try:
            reply = await asyncio.wait_for(bus.call(msg), 30)
        except TimeoutError:
            kind = "timeout"
        except Exception as exc:  # the connection itself failed
            kind = f"exception:{type(exc).__name__}"
            kinds[kind] = kinds.get(kind, 0) + 1
            break
        else:
            if reply is None or reply.message_type == MessageType.ERROR:
                kind = (reply.error_name if reply is not None else None) or "error"
            else:
                kind = "return"
                if member in MUTATING:
                    kinds["mutating_ok"] = kinds.get("mutating_ok", 0) + 1
        kinds[kind] = kinds.get(kind, 0) + 1
    bus.disconnect()


async def main(address: str, connections: int, seconds: float, seed: int, only: str = "") -> None:
    if only:  # a comma-separated subset of the mix's members, to find which call costs what
        MIX[:] = [m for m in MIX if m[0] in only.split(",")]
    kinds: dict[str, int] = {}
    end = time.monotonic() + seconds
    rng = random.Random(seed)
    await asyncio.gather(*(one(address, end, random.Random(rng.random()), kinds) for _ in range(connections)))
    kinds["calls"] = sum(v for k, v in kinds.items() if k != "mutating_ok")
    sys.stdout.write(json.dumps(kinds) + "\n")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), *sys.argv[5:6]))
