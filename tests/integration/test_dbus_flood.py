"""A real flood from an unprivileged uid (setpriv, 16 connections) against a real root helper on a
private system bus with the project's bus policy and the real polkitd: root is still answered,
the helper stays on the bus, nothing is changed, and the uid is held to its quota."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from dbus_fast import Message
from dbus_fast.aio import MessageBus

from smoothdesk.dbus.client import HelperClient, connect
from smoothdesk.dbus.names import BUS_NAME
from tests.support.polkit import polkit_system_bus
from tests.support.users import NOBODY, REPO, unprivileged_python

pytestmark = pytest.mark.root
SECONDS = 8.0


async def closed(bus: MessageBus) -> None:
    """Disconnect and let the loop close the socket (asyncio.run ending first leaks it)."""
    bus.disconnect()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(bus.wait_for_disconnect(), 5)


def flooders(address: str) -> list[subprocess.Popen[str]]:
    exe, env = unprivileged_python()
    procs = []
    for seed in range(4):  # 4 processes x 4 connections
        argv = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", exe, "-m"]
        argv += ["tests.support.flood", address, "4", str(SECONDS), str(seed)]
        procs.append(
            subprocess.Popen(
                argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=str(REPO), env=env
            )
        )
    return procs


async def root_probe(address: str, seconds: float) -> tuple[list[float], list[str], set[str]]:
    client = HelperClient(await connect(address))
    ms: list[float] = []
    failures: list[str] = []
    owners: set[str] = set()
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        start = time.perf_counter()
        try:
            await asyncio.wait_for(client.status(), 5)
            ms.append((time.perf_counter() - start) * 1000)
        except Exception as exc:
            failures.append(repr(exc))
        reply = await client.bus.call(
            Message(destination="org.freedesktop.DBus", path="/org/freedesktop/DBus",
                    interface="org.freedesktop.DBus", member="GetNameOwner", signature="s", body=[BUS_NAME])
        )  # fmt: skip
        owners.add(str(reply.body[0]) if reply is not None and reply.body else "")
        await asyncio.sleep(0.2)
    await closed(client.bus)
    return ms, failures, owners


async def state(address: str) -> dict[str, Any]:
    client = HelperClient(await connect(address))
    for _ in range(300):
        try:
            s = await client.status()
            break
        except Exception:
            await asyncio.sleep(0.1)
    apps = await client.apps()
    await closed(client.bus)
    return {"paused": s["paused"], "rules": s["rules"], "pins": [a["id"] for a in apps if a["pinned"]]}


def test_flood_from_one_uid_leaves_root_answered_and_nothing_changed(shared_tmp: Path) -> None:
    config = shared_tmp / "c.toml"
    config.write_text("[rules]\nananicy_dirs = []\n")
    with polkit_system_bus() as address:
        with (shared_tmp / "helper.log").open("wb") as log:
            helper = subprocess.Popen(
                [sys.executable, "-m", "smoothdesk.helper.main", "--bus", address, "--tick", "0.5",
                 "--config", str(config), "--run-dir", str(shared_tmp / "run")],
                cwd=REPO, stderr=log,
            )  # fmt: skip
        procs: list[subprocess.Popen[str]] = []
        try:
            before = asyncio.run(state(address))
            procs = flooders(address)
            ms, failures, owners = asyncio.run(root_probe(address, SECONDS))
            kinds: dict[str, int] = {}
            for p in procs:
                out, _ = p.communicate(timeout=60)
                for k, v in json.loads(out).items():
                    kinds[k] = kinds.get(k, 0) + v
            after = asyncio.run(state(address))
            alive = helper.poll() is None
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
            helper.terminate()
            helper.wait(timeout=15)
    assert alive
    assert not failures, failures
    assert len(owners) == 1 and "" not in owners  # on the bus throughout, never reconnected
    ms.sort()
    # bench_hostile holds root's p99 to 250 ms; here, on cores other suites share (a load of 15
    # on 2 cores gave 1.5 s once), only that root is answered promptly, never held like the flood.
    assert ms[int(0.99 * (len(ms) - 1))] < 3000, ms[-5:]
    assert not kinds.get("mutating_ok"), kinds
    assert after == before
    # Denials come from polkit, the quota holds the uid back, reads are still served to it.
    assert kinds.get("org.freedesktop.DBus.Error.AccessDenied") and kinds.get("return"), kinds
    assert kinds.get("org.smoothdesk.Error.RateLimited"), kinds
    assert not any(k.startswith("exception") or k == "timeout" for k in kinds), kinds
    # One share for 16 connections: at most 40 calls/s (+ the burst) served, however many ask.
    served = kinds["calls"] - kinds["org.smoothdesk.Error.RateLimited"]
    assert served <= 40 * SECONDS + 80 + 16, kinds
