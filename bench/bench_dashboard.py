"""Dashboard open at 1 Hz: CPU (% of one core) of a GUI process showing the dashboard (offscreen),
connected to a real helper ticking once a second on a private bus; limit 3% of one core."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from common import REPO, Workspace, cpu_seconds, rss_mb

from tests.support.bus import private_bus

LIMIT = 3.0  # % of one core
WARMUP = 6.0  # start-up, imports and the first history load are not the steady state


def child(address: str, seconds: float, range_seconds: float) -> None:
    """The measured process: a QApplication with the dashboard shown until `seconds` pass."""
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from smoothdesk.gui.connection import HelperConnection
    from smoothdesk.gui.dashboard import DashboardWindow

    app = QApplication([])
    conn = HelperConnection(address)
    conn.start()
    window = DashboardWindow(conn)
    window.show()
    window.set_range(range_seconds)
    metrics = [0]
    conn.metrics.connect(lambda _: metrics.__setitem__(0, metrics[0] + 1))
    QTimer.singleShot(int(seconds * 1000), app.quit)
    app.exec()
    stats = {
        "redraws": window.redraw_count,
        "metrics": metrics[0],
        "points": window.cpu_plot.point_count("cpu_busy"),
        "history_loads": window.history_loads,
    }
    window.hide()
    conn.stop()
    print(json.dumps(stats), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0, help="measured stretch")
    parser.add_argument("--range", type=float, default=60.0, help="plot range in seconds: 60, 600 or 3600")
    parser.add_argument("--child", metavar="ADDRESS", help=argparse.SUPPRESS)
    parser.add_argument("--total", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.total, args.range)
        return
    with Workspace() as ws, private_bus() as address:
        ws.helper("--user", "--dry-run", bus=address, tick=1.0)
        time.sleep(3.0)  # the helper's first ticks, so history and Metrics exist
        total = WARMUP + args.seconds + 2.0
        gui = subprocess.Popen(
            [sys.executable, __file__, "--child", address, "--total", str(total), "--range", str(args.range)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        ws.procs.append(gui)  # type: ignore[arg-type]
        time.sleep(WARMUP)
        c0, t0 = cpu_seconds(gui.pid), time.monotonic()
        time.sleep(args.seconds)
        c1, t1 = cpu_seconds(gui.pid), time.monotonic()
        rss = rss_mb(gui.pid)
        out, _ = gui.communicate(timeout=60)
    stats = json.loads(out.strip().splitlines()[-1])
    cpu = (c1 - c0) / (t1 - t0) * 100
    print(
        f"dashboard shown (offscreen), range {args.range:.0f} s, helper tick 1 s, "
        f"{args.seconds:.0f} s measured after {WARMUP:.0f} s"
    )
    print(
        f"{stats['metrics']} Metrics signals, {stats['redraws']} redraws, {stats['points']} CPU points, "
        f"{stats['history_loads']} history load(s) over the whole run"
    )
    print(
        f"GUI process CPU {cpu:.2f}% of one core (limit {LIMIT:.0f}%, ratio {cpu / LIMIT:.2f}); "
        f"RSS {rss:.0f} MB"
    )


if __name__ == "__main__":
    main()
