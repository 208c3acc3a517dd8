"""Overhead: helper CPU (% of one core) and RSS with 1000 extra processes at a 1 s tick,
and the tick cost by stage as the helper reports it over D-Bus."""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import time

from common import Workspace, cpu_seconds, require_root, rss_mb

from smoothdesk.dbus.client import HelperClient, connect
from tests.support.bus import private_bus


async def status(address: str) -> dict[str, object]:
    client = HelperClient(await connect(address))
    s = await client.status()
    client.bus.disconnect()
    return s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--processes", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    require_root()
    with Workspace() as ws, private_bus() as address:
        sleeper = ws.binary("sleeper")
        for _ in range(args.processes):
            ws.procs.append(subprocess.Popen([str(sleeper), "-c", "exec sleep 3600"], process_group=0))
        helper = ws.helper(bus=address)
        time.sleep(8.0)  # start-up and the first full reads are not the steady state
        c0, t0 = cpu_seconds(helper.pid), time.monotonic()
        time.sleep(args.seconds)
        c1, t1 = cpu_seconds(helper.pid), time.monotonic()
        s = asyncio.run(status(address))
        cpu = (c1 - c0) / (t1 - t0) * 100
        rss = rss_mb(helper.pid)
    print(f"{s['processes']} processes, {s['groups']} apps, tick 1 s, {args.seconds:.0f} s measured")
    print(f"helper CPU {cpu:.3f}% of one core (limit 0.5%, ratio {cpu / 0.5:.2f})")
    print(f"helper RSS {rss:.1f} MB (limit 60 MB, ratio {rss / 60:.2f})")
    stages = s["stage_ms"]
    assert isinstance(stages, dict)
    print(
        "last tick by stage (ms CPU): "
        + ", ".join(f"{k} {v:.2f}" for k, v in stages.items())
        + f"; total {s['tick_cost_ms']:.2f}"
    )


if __name__ == "__main__":
    main()
