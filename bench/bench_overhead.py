"""Overhead: helper CPU (% of one core) and RSS with 1000 extra processes at a 1 s tick,
and the tick cost by stage as the helper reports it over D-Bus.

The attention ranker loads onnxruntime only when the engine first asks about a group near a
demotion, so RSS is printed as measured (with the ranker's state) and, after a short burst of an
unclassified CPU hog that makes the engine ask, again with the ranker loaded.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import time
from typing import Any

from common import Workspace, cpu_seconds, require_root, rss_mb

from smoothdesk.dbus.client import HelperClient, connect
from tests.support.bus import private_bus


async def ask(address: str) -> tuple[dict[str, Any], str]:
    client = HelperClient(await connect(address))
    s = await client.status()
    ranker = next((f["summary"] for f in await client.doctor() if f["key"] == "ranker"), "?")
    client.bus.disconnect()
    return s, ranker


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
        s, ranker = asyncio.run(ask(address))
        cpu = (c1 - c0) / (t1 - t0) * 100
        rss = rss_mb(helper.pid)
        # Two spinners under a name no rule knows: the noisy-neighbour stage asks the ranker.
        hogs = ws.hogs(2, name="smoothdesk-bench-spin")
        time.sleep(15.0)
        ws.kill(hogs)
        _, ranker_after = asyncio.run(ask(address))
        rss_loaded = rss_mb(helper.pid)
    print(f"{s['processes']} processes, {s['groups']} apps, tick 1 s, {args.seconds:.0f} s measured")
    print(f"helper CPU {cpu:.3f}% of one core (limit 0.5%, ratio {cpu / 0.5:.2f})")
    print(f"helper RSS {rss:.1f} MB (limit 60 MB, ratio {rss / 60:.2f}); ranker: {ranker}")
    print(f"helper RSS {rss_loaded:.1f} MB after a hog made the engine ask; ranker: {ranker_after}")
    stages = s["stage_ms"]
    assert isinstance(stages, dict)
    print(
        "last tick by stage (ms CPU): "
        + ", ".join(f"{k} {v:.2f}" for k, v in stages.items())
        + f"; total {s['tick_cost_ms']:.2f}"
    )


if __name__ == "__main__":
    main()
