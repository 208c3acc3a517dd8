"""bench_hostile's flood and restart parts (issue 17); run them with bench_hostile.py --part."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

from common import REPO, Workspace
from dbus_fast import Message
from dbus_fast.aio import MessageBus

from smoothdesk.dbus.client import HelperClient, connect
from smoothdesk.dbus.names import BUS_NAME
from tests.support.bus import RestartableBus
from tests.support.polkit import polkit_system_bus
from tests.support.procs import sched_state
from tests.support.users import NOBODY, unprivileged_python

PER_PROCESS = 4  # connections per flooding process: 16 connections = 4 processes
CLK = os.sysconf("SC_CLK_TCK")


async def closed(bus: MessageBus) -> None:
    """Disconnect and let the loop close the socket (asyncio.run ending first leaks it)."""
    bus.disconnect()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(bus.wait_for_disconnect(), 5)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p * (len(values) - 1) + 0.5))] if values else float("nan")


async def owner_of(client: HelperClient) -> str:
    """The helper's unique name, asked of the bus daemon (whose reply time is the noise floor)."""
    reply = await client.bus.call(
        Message(destination="org.freedesktop.DBus", path="/org/freedesktop/DBus",
                interface="org.freedesktop.DBus", member="GetNameOwner", signature="s", body=[BUS_NAME])
    )  # fmt: skip
    return str(reply.body[0]) if reply is not None and reply.body else ""


async def probe(address: str, pid: int, seconds: float) -> dict[str, Any]:
    """Root's GetStatus every 0.2 s, the name's owner, and the helper's RSS and CPU meanwhile."""
    client = HelperClient(await connect(address))
    ms: list[float] = []
    failures: list[str] = []
    owners: set[str] = set()
    rss: list[float] = []
    floor: list[float] = []
    cpu0, t0 = cpu_seconds(pid), time.monotonic()
    while time.monotonic() - t0 < seconds:
        tick = time.monotonic()
        try:
            start = time.perf_counter()
            await asyncio.wait_for(client.status(), 5)
            ms.append((time.perf_counter() - start) * 1000)
        except Exception as exc:
            failures.append(type(exc).__name__ + ": " + str(exc)[:80])
        start = time.perf_counter()
        owners.add(await owner_of(client))
        floor.append((time.perf_counter() - start) * 1000)
        rss.append(rss_mb(pid))
        await asyncio.sleep(max(0.0, 0.2 - (time.monotonic() - tick)))
    cpu = (cpu_seconds(pid) - cpu0) / (time.monotonic() - t0)
    await closed(client.bus)
    return {"ms": ms, "failures": failures, "owners": owners, "rss": rss, "cpu": cpu, "floor": floor}


async def state(address: str) -> dict[str, Any]:
    client = HelperClient(await connect(address))
    s = await client.status()
    apps = {a["id"]: (a["class"], a["pinned"]) for a in await client.apps()}
    await closed(client.bus)
    return {"paused": s["paused"], "rules": s["rules"], "apps": apps}


def flooders(address: str, connections: int, seconds: float, only: str = "") -> list[subprocess.Popen[str]]:
    exe, env = unprivileged_python()
    procs = []
    for i in range(0, connections, PER_PROCESS):
        n = min(PER_PROCESS, connections - i)
        argv = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", exe, "-m"]
        argv += ["tests.support.flood", address, str(n), str(seconds), str(i), only]
        procs.append(
            subprocess.Popen(
                argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=str(REPO), env=env
            )
        )
    return procs


def settle(pid: int, most: float = 40.0) -> float:
    """Wait until the helper's RSS holds still for 3 s: the ONNX ranker loads (+50 MB) when the
    hog is first demoted, which is no part of the flood. Returns the seconds waited."""
    t0 = time.monotonic()
    history = [rss_mb(pid)]
    while time.monotonic() - t0 < most:
        time.sleep(0.5)
        history.append(rss_mb(pid))
        if len(history) >= 7 and max(history[-7:]) - min(history[-7:]) < 0.5 and history[-1] > 60:
            break
    return time.monotonic() - t0


def flood_part(seconds: float, connections: int, only: str = "") -> bool:
    with Workspace() as ws, polkit_system_bus() as address:
        ws.hogs(1)
        helper = ws.helper(bus=address, tick=1.0)
        if _back(address, 60.0) is None:
            print("flood: the helper did not come up on the bus in 60 s\n" + ws.helper_log()[-2000:])
            return True
        start_rss = rss_mb(helper.pid)
        warm = settle(helper.pid)
        before = asyncio.run(state(address))
        idle = asyncio.run(probe(address, helper.pid, 5.0))
        procs = flooders(address, connections, seconds, only)
        busy = asyncio.run(probe(address, helper.pid, seconds))
        kinds: dict[str, int] = {}
        for p in procs:
            out, _ = p.communicate(timeout=60)
            for k, v in (json.loads(out) if out.strip() else {"no output": 1}).items():
                kinds[k] = kinds.get(k, 0) + v
        alive = helper.poll() is None
        after = asyncio.run(state(address)) if alive else {"apps": {}}
        rss_after = rss_mb(helper.pid) if alive else float("nan")
        notes = [x for x in ws.helper_log().splitlines() if " WARNING " in x or " ERROR " in x]
    common = before["apps"].keys() & after["apps"].keys()
    changed = (
        before["paused"] != after.get("paused")
        or before["rules"] != after.get("rules")
        or any(after["apps"][a][1] for a in common)  # a pin appeared
    )
    on_bus = alive and len(busy["owners"]) == 1 and "" not in busy["owners"]
    flood_cpu = busy["cpu"] - idle["cpu"]
    growth = max(busy["rss"]) - idle["rss"][0]
    p99 = pct(busy["ms"], 0.99)
    print(f"flood: uid {NOBODY}, {connections} connections, {seconds:.0f} s: {kinds.get('calls', 0)} calls")
    print("  replies: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1])))
    print(f"  helper on the bus throughout: {on_bus} (owners seen: {len(busy['owners'])})")
    print(
        f"  root GetStatus: {len(busy['ms'])} answered, {len(busy['failures'])} failed; "
        f"p50 {pct(busy['ms'], 0.5):.1f} ms, p99 {p99:.1f} ms (idle p99 {pct(idle['ms'], 0.99):.1f} ms); "
        f"limit 250 ms, ratio {p99 / 250:.2f}"
    )
    floor, floor_idle = pct(busy["floor"], 0.99), pct(idle["floor"], 0.99)
    load = os.getloadavg()[0]
    print(
        f"  noise floor: the bus daemon's own GetNameOwner p99 {floor:.1f} ms under the flood, "
        f"{floor_idle:.1f} ms before (machine load {load:.1f} on {os.cpu_count()} cores)"
    )
    for f in busy["failures"][:3]:
        print("    " + f)
    mutated = kinds.get("mutating_ok", 0)
    print(f"  unauthorized changes: {mutated} successful mutating calls, state changed: {changed}")
    print(
        f"  helper CPU: {busy['cpu'] * 100:.1f} % of a core under the flood, {idle['cpu'] * 100:.1f} % "
        f"before; on the flood {flood_cpu * 100:.1f} % (limit 15 %, ratio {flood_cpu / 0.15:.2f})"
    )
    print(
        f"  helper RSS: {idle['rss'][0]:.1f} MB before, max {max(busy['rss']):.1f} MB during, "
        f"{rss_after:.1f} MB after: growth {growth:.1f} MB (limit 20 MB, ratio {growth / 20:.2f}); "
        f"{start_rss:.1f} MB at start-up, settled in {warm:.0f} s (the ranker loads at first use)"
    )
    for line in notes[:5]:
        print("  helper log: " + line[:200])
    ok = on_bus and not busy["failures"] and p99 <= 250 and not kinds.get("mutating_ok") and not changed
    return not (ok and flood_cpu <= 0.15 and growth <= 20)


def _back(address: str, seconds: float) -> float | None:
    async def once() -> bool:
        try:
            bus = await asyncio.wait_for(connect(address), 1)
        except Exception:
            return False
        try:
            await asyncio.wait_for(HelperClient(bus).status(), 1)
            return True
        except Exception:
            return False
        finally:
            await closed(bus)

    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        if asyncio.run(once()):
            return time.monotonic() - t0
        time.sleep(0.02)
    return None


def demoted(pid: int) -> bool:
    state = sched_state(pid)
    return int(state["nice"]) > 0 or "/smoothdesk" in str(state["cgroup"])  # type: ignore[call-overload]


def pin(address: str, pid: int) -> bool:
    async def call() -> bool:
        bus = await connect(address)
        try:
            await HelperClient(bus).set_class(str(pid), "background")
            return True
        except Exception:
            return False
        finally:
            await closed(bus)

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if asyncio.run(call()):
            return True
        time.sleep(0.2)
    return False


def restart_part(rounds: int = 3) -> bool:
    """A sleeper pinned to background through this helper (not a busy cc1plus: another root helper
    on a shared machine would demote that one too, and the restore check would see its lever)."""
    with Workspace() as ws, RestartableBus() as rbus:
        pinned = subprocess.Popen(
            [str(ws.binary("sd-pin")), "-c", "while :; do sleep 1; done"], process_group=0
        )
        ws.procs.append(pinned)  # type: ignore[arg-type]
        helper = ws.helper(bus=rbus.address, tick=0.2)
        lever_on = _back(rbus.address, 60.0) is not None and pin(rbus.address, pinned.pid)
        deadline = time.monotonic() + 10
        while lever_on and not demoted(pinned.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        lever_on = lever_on and demoted(pinned.pid)
        took = []
        for _ in range(rounds):
            rbus.restart()
            took.append(_back(rbus.address, 10.0))
        still_on = demoted(pinned.pid)
        rbus.kill()
        t0 = time.monotonic()
        try:
            code = helper.wait(timeout=30)
        except subprocess.TimeoutExpired:
            code = None
        exited = time.monotonic() - t0
        restored = not demoted(pinned.pid)
    shown = ", ".join("never" if t is None else f"{t:.2f} s" for t in took)
    worst = max((t for t in took if t is not None), default=float("inf"))
    print(f"restart: lever on before: {lever_on}; back on the restarted bus after {shown} (limit 5 s)")
    print(f"  lever still on after the restarts: {still_on}")
    print(f"  bus killed for good: exited with {code} after {exited:.2f} s (limit 5 s), restored: {restored}")
    ok = lever_on and still_on and None not in took and worst <= 5
    return not (ok and code == 1 and exited <= 5 and restored)
