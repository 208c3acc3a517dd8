"""Focus change to the helper's decision per desktop: activate a window -> GetApp 'has the focused window'.

Desktops: X11 (Xvfb + openbox, xdotool windowactivate), GNOME Shell 43 headless (the SmoothDesk
extension; a test driver extension activates) and KWin 5.27 --virtual (the SmoothDesk script; a
one-shot script through KWin's scripting D-Bus activates), each with XWayland windows beside the
native ones on the compositors. Real session agent and a user-mode helper (dry run) on a private
dbus-daemon. Prints, per desktop, median and p95 of focus change -> the agent knows the pid
(limit 100 ms) and of focus change -> the helper's decision, in ms and ticks (limit 1 tick).
The time includes the request to the desktop (xdotool, a D-Bus call, a script load).
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
from collections.abc import Callable
from pathlib import Path

from common import REPO

from smoothdesk.agent import SessionAgent
from smoothdesk.dbus.client import HelperClient, connect
from smoothdesk.dbus.errors import BusError
from tests.support.bus import private_bus
from tests.support.xsession import xsession

SWITCHES = 20
TICK = 1.0
LOST = 3.0  # no report of the new focus this long after asking: the request was dropped
AGENT_LIMIT = 0.1  # issue 12: the agent knows the focused window's process within 100 ms
FOCUSED = "has the focused window"


async def focused(client: HelperClient, pid: int) -> bool:
    try:
        app = await client.app(str(pid))
    except BusError:
        return False
    return app["class"] == "interactive" and any(FOCUSED in r for r in app["reasons"])


async def measure(
    bus: str,
    windows: list[tuple[int, str]],
    activate: Callable[[str], None],
    env: dict[str, str],
    session_bus: str | None = None,
) -> tuple[list[float], list[float], list[float]]:
    """(-> the agent knows the pid, -> the helper's decision, the request itself), in s, from the request.

    `windows` are (pid, handle) pairs; activate(handle) asks the desktop to focus that window.
    """
    client = HelperClient(await connect(bus))
    for pid, _ in windows:
        while True:
            try:
                await client.app(str(pid))
                break
            except BusError:
                await asyncio.sleep(0.05)
    agent = SessionAgent(bus, env=env, session_bus=session_bus, audio=False, xruns=False)
    agent.start()
    known, decided, requests = [], [], []
    lost = [0]
    try:
        # Untimed: until each window has been mapped and focused once (activation asked again,
        # since a window that is not mapped yet ignores it).
        for pid, handle in windows:
            deadline = time.monotonic() + 30
            while agent.state()["focus_pid"] != pid:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"window of pid {pid} never got the focus: {agent.state()}")
                await asyncio.to_thread(activate, handle)
                await asyncio.sleep(0.5)
        for i in range(SWITCHES + 1):
            pid, handle = windows[i % len(windows)]
            await asyncio.sleep(random.uniform(0.2, 0.2 + TICK))  # land anywhere in the tick
            t0 = time.monotonic()
            # Off the loop: the GNOME and KWin drivers make their own D-Bus calls with asyncio.run.
            await asyncio.to_thread(activate, handle)
            asked = time.monotonic() - t0
            # The agent's state is polled alone first (1 ms), then the helper: a GetApp call costs
            # tens of ms here and would hide when the agent knew.
            while agent.state()["focus_pid"] != pid:
                if time.monotonic() - t0 > LOST:
                    # The desktop dropped the request (KWin does, now and then, under load): ask
                    # again and time from there; the count is printed.
                    lost[0] += 1
                    t0 = time.monotonic()
                    await asyncio.to_thread(activate, handle)
                    asked = time.monotonic() - t0
                await asyncio.sleep(0.001)
            seen = time.monotonic()
            while not await focused(client, pid):
                if time.monotonic() - t0 > 10 * TICK:
                    app = await client.app(str(pid))
                    raise RuntimeError(
                        f"switch {i}: no decision after {10 * TICK:g} s: {agent.state()} {app}"
                    )
                await asyncio.sleep(0.002)
            done = time.monotonic()
            if i:  # the first switch also waits for the agent's first connection
                known.append(seen - t0)
                decided.append(done - t0)
                requests.append(asked)
    finally:
        agent.stop()
        client.bus.disconnect()
    print(f"activation requests the desktop dropped (asked again): {lost[0]}", file=sys.stderr)
    return known, decided, requests


def x11_run(bus: str) -> tuple[list[float], list[float], list[float]]:
    with xsession() as x:
        wins = [x.window("sd-bench-one"), x.window("sd-bench-two")]
        pairs = [(w.pid, str(w.wid)) for w in wins]
        return asyncio.run(measure(bus, pairs, lambda wid: x.xdotool("windowactivate", wid), x.env))


def gnome_run(bus: str) -> tuple[list[float], list[float], list[float]]:
    from tests.support.gnome import gnomesession

    with gnomesession() as g:
        wins = [g.foot("sd-bench-one"), g.foot("sd-bench-two"), g.x_window("sd-bench-x")]
        for w in wins:
            g.mapped(w)
        pairs = [(w.pid, str(w.pid)) for w in wins]
        return asyncio.run(measure(bus, pairs, lambda pid: g.activate(int(pid)), g.agent_env, g.bus))


def kwin_run(bus: str) -> tuple[list[float], list[float], list[float]]:
    from tests.support.kwin import kwinsession

    with kwinsession() as k:
        wins = [k.qt_window("sd-bench-one"), k.qt_window("sd-bench-two"), k.x_window("sd-bench-x")]
        time.sleep(2)  # mapped: Qt and X windows map within a second here
        pairs = [(w.pid, str(w.pid)) for w in wins]
        return asyncio.run(measure(bus, pairs, lambda pid: k.activate(int(pid)), k.agent_env, k.bus))


RUNS = {"x11": x11_run, "gnome": gnome_run, "kwin": kwin_run}


def figures(lat: list[float]) -> tuple[float, float]:
    lat = sorted(lat)
    return statistics.median(lat), lat[min(len(lat) - 1, round(0.95 * (len(lat) - 1)))]


def main() -> None:
    import argparse
    import logging

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--desktop", choices=[*RUNS, "all"], default="all", help="which desktop to switch focus on"
    )
    desktops = list(RUNS) if parser.parse_args().desktop == "all" else [parser.parse_args().desktop]

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
            results = {name: RUNS[name](bus) for name in desktops}
        finally:
            helper.send_signal(signal.SIGTERM)
            helper.wait(timeout=15)
    for name, (known, decided, requests) in results.items():
        k50, k95 = figures(known)
        d50, d95 = figures(decided)
        r50, _ = figures(requests)
        result = {
            "desktop": name, "switches": len(decided), "tick_ms": TICK * 1000,
            "agent_median_ms": round(k50 * 1000, 1), "agent_p95_ms": round(k95 * 1000, 1),
            "median_ms": round(d50 * 1000, 1), "p95_ms": round(d95 * 1000, 1),
            "max_ms": round(max(decided) * 1000, 1), "request_median_ms": round(r50 * 1000, 1),
            "median_ticks": round(d50 / TICK, 3),
            "p95_ticks": round(d95 / TICK, 3),
        }  # fmt: skip
        print(json.dumps(result))
        verdict = "ok" if d95 <= TICK else "OVER"
        agent_verdict = "ok" if k95 <= AGENT_LIMIT else "OVER"
        r = result
        print(
            f"{name}: focus -> agent knows: median {r['agent_median_ms']} ms, p95 {r['agent_p95_ms']} ms "
            f"(limit {AGENT_LIMIT * 1000:g} ms) {agent_verdict}; focus -> decision: median {r['median_ms']} "
            f"ms, p95 {r['p95_ms']} ms; ratio p95/tick {r['p95_ticks']} (limit 1) {verdict}; the "
            f"request itself (included) median {r['request_median_ms']} ms"
        )


if __name__ == "__main__":
    main()
