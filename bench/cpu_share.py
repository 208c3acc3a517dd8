"""CPU accounting for bench_levers: usable CPUs, their busy ticks, a foreground spinner's share."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

PROC = Path("/proc")
FG_SECONDS = 1.5


def allowed_cpus() -> list[int]:
    return sorted(os.sched_getaffinity(0))


def busy_ticks(cpus: list[int]) -> int:
    """Non-idle USER_HZ ticks of these CPUs, from /proc/stat."""
    total = 0
    for line in Path("/proc/stat").read_text().splitlines():
        name, *vals = line.split()
        if name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in cpus:
            v = [int(x) for x in vals]
            total += sum(v[:8]) - v[3] - v[4]  # everything but idle and iowait
    return total


def foreground_share(hog: Path, cpus: list[int]) -> float:
    """Percent of the usable CPUs a spinner with one thread per CPU in the probe's session gets."""
    fg = subprocess.Popen([str(hog), str(len(cpus))])
    try:
        time.sleep(0.2)
        stat = PROC / str(fg.pid) / "stat"

        def ticks() -> int:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            return int(fields[11]) + int(fields[12])

        before, t0 = ticks(), time.monotonic()
        time.sleep(FG_SECONDS)
        used = (ticks() - before) / os.sysconf("SC_CLK_TCK")
        return 100.0 * used / (time.monotonic() - t0) / len(cpus)
    finally:
        fg.kill()
        fg.wait()
