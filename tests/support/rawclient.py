"""A line-driven raw D-Bus client, run as another uid: reads JSON calls on stdin, answers on stdout.

Each input line is {"member": str, "signature": str, "body": [...], "fd": bool}. Values for a
"v" are given as [signature, value]. The reply line is {"type": "return"|"error", "name": str,
"ms": float}. Used by the fuzz test and the hostile-load bench.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from typing import Any

from dbus_fast import Message, MessageType, Variant
from dbus_fast.aio import MessageBus

DEST = "org.smoothdesk.Helper1"
PATH = "/org/smoothdesk/Helper1"


def _variants(value: Any) -> Any:
    """Turn [sig, value] pairs inside a{sv} dicts into Variants."""
    if isinstance(value, dict):
        return {
            k: Variant(v[0], v[1]) if isinstance(v, list) and len(v) == 2 else v for k, v in value.items()
        }
    if isinstance(value, list):
        return [_variants(v) for v in value]
    return value


async def main(address: str) -> None:
    bus = await MessageBus(bus_address=address, negotiate_unix_fd=True).connect()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 22)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        call = json.loads(line)
        fds: list[int] = []
        if call.get("fd"):
            fds = [os.open("/dev/null", os.O_RDONLY)]
        t0 = time.perf_counter()
        try:
            msg = Message(
                destination=DEST,
                path=PATH,
                interface=DEST,
                member=call["member"],
                signature=call["signature"],
                body=[_variants(b) for b in call["body"]],
                unix_fds=fds,
            )
            reply = await asyncio.wait_for(bus.call(msg), 10)
            kind = "error" if reply is None or reply.message_type == MessageType.ERROR else "return"
            name = reply.error_name if reply is not None and reply.error_name else ""
        except TimeoutError:
            kind, name = "timeout", ""
        except Exception as exc:  # a message the library itself refuses to build
            kind, name = "unsendable", type(exc).__name__
        finally:
            for fd in fds:
                os.close(fd)
        out = {"type": kind, "name": name, "ms": (time.perf_counter() - t0) * 1000}
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()
    bus.disconnect()
    await bus.wait_for_disconnect()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
