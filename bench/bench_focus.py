"""Focus report to the helper's decision: xdotool windowactivate -> GetApp says 'has the focused window'.

Real parts: Xvfb + openbox, two test windows in two processes, the session agent, a user-mode
helper (dry run) on a private dbus-daemon. Prints median and p95 in ms and in ticks; the limit
is 1 tick (ratio p95/tick <= 1).
"""

from __future__ import annotations

import asyncio
import json
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import REPO

from smoothdesk.dbus.client import HelperClient, connect
from smoothdesk.dbus.errors import BusError
from smoothdesk.gui.agent import SessionAgent
from tests.support.bus import private_bus
from tests.support.xsession import XSession, xsession

SWITCHES = 20
TICK = 1.0
FOCUSED = "has the focused window"


async def focused(client: HelperClient, pid: int) -> bool:
    try:
        app = await client.app(str(pid))
    except BusError:
        return False
    return app["class"] == "interactive" and any(FOCUSED in r for r in app["reasons"])


async def measure(bus: str, x: XSession) -> list[float]:
    windows = [x.window("sd-bench-one"), x.window("sd-bench-two")]
    client = HelperClient(await connect(bus))
    for w in windows:
        while True:
            try:
                await client.app(str(w.pid))
                break
            except BusError:
                await asyncio.sleep(0.05)
    agent = SessionAgent(bus, env=x.env, session_bus=None, audio=False)
    agent.start()
    latencies = []
    try:
        for i in range(SWITCHES + 1):
            target = windows[i % 2]
            await asyncio.sleep(random.uniform(0.2, 0.2 + TICK))  # land anywhere in the tick
            t0 = time.monotonic()
            x.xdotool("windowactivate", str(target.wid))
            while not await focused(client, target.pid):
                if time.monotonic() - t0 > 10 * TICK:
                    app = await client.app(str(target.pid))
                    raise RuntimeError(
                        f"switch {i}: no decision after {10 * TICK:g} s: {agent.state()} {app}"
                    )
                await asyncio.sleep(0.002)
            if i:  # the first switch also waits for the agent's first connection
                latencies.append(time.monotonic() - t0)
    finally:
        agent.stop()
        client.bus.disconnect()
    return latencies


def main() -> None:
    import logging

    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="sd-bench-focus-") as tmp, private_bus() as bus:
        config = Path(tmp) / "c.toml"
        config.write_text("[rules]\nananicy_dirs = []\n")
        log = Path(tmp) / "helper.log"
        helper = subprocess.Popen(
            [sys.executable, "-m", "smoothdesk.helper.main", "--bus", bus, "--user", "--dry-run",
             "--tick", str(TICK), "--config", str(config), "--run-dir", f"{tmp}/run"],
            cwd=REPO, stderr=log.open("wb"),
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 20
            while "serving org.smoothdesk.Helper1" not in log.read_text():
                if time.monotonic() > deadline or helper.poll() is not None:
                    sys.exit(f"helper did not start:\n{log.read_text()}")
                time.sleep(0.05)
            with xsession() as x:
                lat = asyncio.run(measure(bus, x))
        finally:
            helper.send_signal(signal.SIGTERM)
            helper.wait(timeout=15)
    lat.sort()
    p50 = statistics.median(lat)
    p95 = lat[min(len(lat) - 1, round(0.95 * (len(lat) - 1)))]
    result = {
        "switches": len(lat),
        "tick_ms": TICK * 1000,
        "median_ms": round(p50 * 1000, 1),
        "p95_ms": round(p95 * 1000, 1),
        "max_ms": round(lat[-1] * 1000, 1),
        "median_ticks": round(p50 / TICK, 3),
        "p95_ticks": round(p95 / TICK, 3),
    }
    print(json.dumps(result))
    verdict = "ok" if p95 <= TICK else "OVER"
    print(f"focus -> decision: median {result['median_ms']} ms, p95 {result['p95_ms']} ms; "
          f"ratio p95/tick {result['p95_ticks']} (limit 1) {verdict}")  # fmt: skip


if __name__ == "__main__":
    main()
