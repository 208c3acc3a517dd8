"""Measure the latency probe: its overhead as % of one core, and its p99 idle against next to hogs.

The sampler is the C one (telemetry/sampler.c). Overhead is the sampler's CPU time (run ns from
/proc/PID/schedstat: clock ticks are too coarse for a fraction of a percent) plus the CPU time of
the parent's window() calls, once per second as the helper ticks, as % of one core, at each of
--intervals-ms (the cost per wake-up is printed too: it is the kernel's and the VM's, and sets the
default interval). Then
the probe's p99 is taken per 1-s window while the machine is idle and while one nice-0 spinner runs
on each CPU, at the probe's own class (interactive: no lever, so nice 0); the figures are the
medians of the window p99s, and their ratio. All in one run, interleaved idle/busy reps.

Usage: .venv/bin/python bench/bench_probe.py [--seconds 10] [--reps 2] [--interval-ms 100]
       [--intervals-ms 4,10,100]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from common import Workspace

from smoothdesk.telemetry.probe import LatencyProbe


def run_seconds(pid: int) -> float:
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9


def overhead(interval_s: float, seconds: float) -> tuple[float, float, float, int]:
    """(total %, sampler %, parent window() %, wake-ups per s) of one core."""
    probe = LatencyProbe(interval_s)
    probe.start()
    try:
        pid = probe.pid
        assert pid is not None
        time.sleep(0.5)  # past interpreter start-up, which is not steady-state cost
        probe.window()
        worker0, wall0, parent = run_seconds(pid), time.monotonic(), 0.0
        wakes = 0
        for _ in range(round(seconds)):
            time.sleep(1.0)
            t0 = time.thread_time()
            w = probe.window()
            parent += time.thread_time() - t0
            wakes += w.count if w else 0
        wall = time.monotonic() - wall0
        worker = run_seconds(pid) - worker0
    finally:
        probe.stop()
    return 100 * (worker + parent) / wall, 100 * worker / wall, 100 * parent / wall, round(wakes / wall)


def window_p99s(probe: LatencyProbe, seconds: float) -> list[float]:
    probe.window()
    out = []
    for _ in range(round(seconds)):
        time.sleep(1.0)
        w = probe.window()
        if w is not None:
            out.append(w.p99_ms)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--interval-ms", type=float, default=100.0)
    ap.add_argument("--intervals-ms", default="4,10,100")
    args = ap.parse_args()
    interval = args.interval_ms / 1000

    for ms in (float(x) for x in args.intervals_ms.split(",")):
        total, worker, parent, rate = overhead(ms / 1000, args.seconds)
        per_wake = worker / 100 / max(rate, 1) * 1e6
        print(
            f"probe every {ms:g} ms ({rate} wake-ups/s): {total:.3f} % of one core (sampler {worker:.3f} %, "
            f"{per_wake:.0f} us a wake-up; parent window() {parent:.4f} %)"
        )

    idle: list[float] = []
    busy: list[float] = []
    cpus = len(os.sched_getaffinity(0))
    with Workspace() as ws:
        probe = LatencyProbe(interval)  # interactive maps to no lever: nice 0
        probe.start()
        try:
            time.sleep(0.5)
            for _ in range(args.reps):
                idle += window_p99s(probe, args.seconds)
                hogs = ws.hogs(cpus, name="probe-hog")
                for cpu, hog in enumerate(hogs):
                    os.sched_setaffinity(hog.pid, {cpu})
                busy += window_p99s(probe, args.seconds)
                ws.kill(hogs)
        finally:
            probe.stop()
    i, b = statistics.median(idle), statistics.median(busy)
    print(
        f"at {args.interval_ms:g} ms: p99 idle: median {i:.3f} ms, max {max(idle):.3f} ms "
        f"over {len(idle)} windows"
    )
    print(f"p99 with a nice-0 spinner on each of {cpus} CPUs: median {b:.3f} ms, max {max(busy):.3f} ms")
    print(f"ratio busy/idle (medians): {b / i:.1f}x")


if __name__ == "__main__":
    main()
