"""Tray app: CPU (% of one core) while idle with its windows closed, connected to a real helper that
publishes Metrics at 1 Hz; and the time from process start to the icon embedded in a tray (trayer,
under Xvfb with openbox), median of several starts."""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import Workspace, cpu_seconds

from smoothdesk.gui.shell import VISIBLE_MARKER
from tests.support.bus import private_bus
from tests.support.xsession import XSession, xsession

IDLE_LIMIT = 0.5  # % of one core
START_LIMIT = 1.5  # seconds


def start_app(
    ws: Workspace, x: XSession, bus: str, log: Path, agent: bool = False
) -> tuple[subprocess.Popen[bytes], float]:
    env = {**x.env, "QT_QPA_PLATFORM": "xcb", "XDG_RUNTIME_DIR": str(ws.dir), "XDG_CONFIG_HOME": str(ws.dir)}
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)  # notifications fall back to the tray; no user session here
    with log.open("wb") as err:
        started = time.time()
        proc = subprocess.Popen(
            [sys.executable, "-m", "smoothdesk.gui.app", "--bus", bus, *([] if agent else ["--no-agent"])],
            env=env,
            stderr=err,
        )
    ws.procs.append(proc)
    return proc, started


def visible_at(log: Path, timeout: float = 30.0) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith(VISIBLE_MARKER):
                return float(line.rsplit(" ", 1)[1])
        time.sleep(0.01)
    raise SystemExit(f"the tray icon never became visible:\n{log.read_text()}")


def stop(proc: subprocess.Popen[bytes], log: Path) -> None:
    proc.send_signal(signal.SIGTERM)
    if proc.wait(timeout=30) != 0:
        raise SystemExit(f"smoothdesk exited with {proc.returncode}:\n{log.read_text(errors='replace')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0, help="idle measurement length")
    parser.add_argument("--starts", type=int, default=5, help="start-to-icon runs")
    args = parser.parse_args()
    with Workspace() as ws, private_bus() as bus, xsession(tray=True) as x:
        helper = ws.helper("--user", "--dry-run", tick=1.0, bus=bus)
        deadline = time.monotonic() + 30
        while "serving" not in ws.helper_log() and time.monotonic() < deadline:
            time.sleep(0.05)
        times = []
        for i in range(args.starts):
            log = ws.dir / f"start{i}.log"
            proc, started = start_app(ws, x, bus, log)
            times.append(visible_at(log) - started)
            stop(proc, log)
        median = statistics.median(times)
        spread = f"min {min(times):.3f}, max {max(times):.3f}"
        print(
            f"start to icon visible: median {median:.3f} s over {len(times)} starts ({spread}); "
            f"limit {START_LIMIT} s, ratio {median / START_LIMIT:.2f}"
        )

        for agent in (False, True):
            idle(ws, x, bus, helper, args.seconds, agent=agent)


def idle(
    ws: Workspace, x: XSession, bus: str, helper: subprocess.Popen[bytes], seconds: float, *, agent: bool
) -> None:
    log = ws.dir / f"idle-{agent}.log"
    proc, _ = start_app(ws, x, bus, log, agent)
    visible_at(log)
    time.sleep(5.0)  # connected, first status and icon rendered: the steady state follows
    c0, h0, t0 = cpu_seconds(proc.pid), cpu_seconds(helper.pid), time.monotonic()
    time.sleep(seconds)
    c1, h1, t1 = cpu_seconds(proc.pid), cpu_seconds(helper.pid), time.monotonic()
    stop(proc, log)
    cpu = (c1 - c0) / (t1 - t0) * 100
    helper_cpu = (h1 - h0) / (t1 - t0) * 100
    what = (
        "with the session agent (X11 focus, idle; no audio server here)"
        if agent
        else "tray only (--no-agent)"
    )
    print(
        f"tray app idle, windows closed, Metrics at 1 Hz, {what}: {cpu:.3f}% of one core "
        f"over {t1 - t0:.0f} s "
        f"(limit {IDLE_LIMIT}%, ratio {cpu / IDLE_LIMIT:.2f}); helper meanwhile {helper_cpu:.2f}%; "
        f"CPU time resolution {1000 / os.sysconf('SC_CLK_TCK'):.0f} ms"
    )


if __name__ == "__main__":
    main()
