"""schedstat against the truth: a known waker measures its own CPU wait while SmoothDesk's reader
(collector/schedstat.py, as the helper runs it, once a second) reads the waker's schedstat.

The waker (C, compiled here) sleeps to a deadline every 4 ms and does 0.5 ms of CPU work, like a
frame or a keystroke. Per cycle it records the deadline, when it was done and the CPU time it used
since it went to sleep: its own wait is (done - deadline) - CPU used, the time it was runnable but
not running, plus the timer's own lateness, which is not the scheduler's and which schedstat rightly
does not count (tens of us here). The cycles are bucketed into the reader's 1 s ticks by their
CLOCK_MONOTONIC times (the clock Python's time.monotonic reads).

Phases: alone, then a known storm: STORM spinners at nice STORM_NICE pinned to the waker's CPU,
in a session of their own (needs root for the negative nice). Printed per phase: both totals in
ms per second and their ratio, the per-tick mean absolute difference, and the worst wait:
schedstat's (exact when the thread ran once in the tick, else the wait per slice, a lower bound)
against the waker's worst cycle per tick.
Tolerance: total wait within 10 % of the waker's own, plus 0.1 ms a cycle for the timer.

Usage: .venv/bin/python bench/bench_schedstat.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from common import Workspace

from smoothdesk.collector.schedstat import CpuWait, SchedstatReader
from smoothdesk.core.process import ProcessRecord

STORM = 2
STORM_NICE = -5
PERIOD_MS = 4.0
TIMER_ALLOWANCE_MS = 0.1  # per cycle
WAKER_C = r"""
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <time.h>
static long long ns(clockid_t c) {
    struct timespec t;
    clock_gettime(c, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}
int main(int argc, char **argv) {
    long long n = atoll(argv[1]), period = 4000000LL, work = 500000LL;
    long long *rec = calloc(n * 4, sizeof *rec);
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    puts("ready"); fflush(stdout);
    long long deadline = ns(CLOCK_MONOTONIC) + period;
    for (long long i = 0; i < n; i++) {
        long long cpu0 = ns(CLOCK_THREAD_CPUTIME_ID);
        struct timespec dl = {deadline / 1000000000LL, deadline % 1000000000LL};
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &dl, NULL);
        long long end = ns(CLOCK_THREAD_CPUTIME_ID) + work;
        while (ns(CLOCK_THREAD_CPUTIME_ID) < end) {}
        long long done = ns(CLOCK_MONOTONIC);
        rec[4 * i] = deadline; rec[4 * i + 1] = done; rec[4 * i + 2] = ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
        deadline += period;
        if (done > deadline) deadline = done + period - (done - deadline) % period;
    }
    for (long long i = 0; i < n; i++) printf("%lld %lld %lld\n", rec[4 * i], rec[4 * i + 1], rec[4 * i + 2]);
    return 0;
}
"""


def record(pid: int) -> ProcessRecord:
    start = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    return ProcessRecord(pid=pid, ppid=os.getpid(), uid=os.geteuid(), comm="waker", start_time=start)


def run_phase(ws: Workspace, waker_bin: Path, cpu: int, seconds: float, storm: int) -> dict[str, float]:
    cycles = int(seconds * 1000 / PERIOD_MS)
    waker = subprocess.Popen([str(waker_bin), str(cycles)], stdout=subprocess.PIPE, text=True)
    hogs = []
    try:
        os.sched_setaffinity(waker.pid, {cpu})
        assert waker.stdout is not None
        assert waker.stdout.readline().strip() == "ready"
        if storm:
            hogs = ws.hogs(storm, name="storm-hog", new_session=True)
            for h in hogs:
                os.sched_setaffinity(h.pid, {cpu})
                # Above the waker, so that the storm, not the rest of a shared machine, decides.
                os.setpriority(os.PRIO_PROCESS, h.pid, STORM_NICE)
        reader = SchedstatReader()
        rec = record(waker.pid)
        ticks: list[tuple[float, float, CpuWait]] = []
        last = time.monotonic()
        reader.read({"focus": [rec]})
        # Its records come at the end, more than a pipe holds: read by duration, then drain.
        end = time.monotonic() + cycles * PERIOD_MS / 1000
        while time.monotonic() < end:
            time.sleep(1.0)
            now = time.monotonic()
            got = reader.read({"focus": [rec]}).get("focus")
            if got is not None and got.threads:
                ticks.append((last, now, got))
            last = now
        rows = [tuple(int(x) for x in line.split()) for line in waker.stdout.read().splitlines()]
        reader.close()
    finally:
        ws.kill(hogs)
        if waker.poll() is None:
            waker.kill()
        waker.wait()
    own_total = sched_total = 0.0
    diffs, worst_pairs, span, n_cycles = [], [], 0.0, 0
    for lo, hi, got in ticks[:-1]:  # the last tick ends when the waker does, mid-cycle
        inside = [r for r in rows if lo * 1e9 <= r[1] < hi * 1e9]
        own = [(done - deadline - cpu_used) / 1e6 for deadline, done, cpu_used in inside]
        if not own:
            continue
        own_total += sum(own)
        sched_total += got.wait_ns / 1e6
        span += hi - lo
        n_cycles += len(own)
        diffs.append(abs(got.wait_ns / 1e6 - sum(own)) / (hi - lo))
        worst_pairs.append((got.worst_ns / 1e6, max(own)))
    return {
        "own": own_total / span,
        "sched": sched_total / span,
        "diff": statistics.mean(diffs),
        "cycles_per_s": n_cycles / span,
        "ticks": len(diffs),
        "sched_worst": statistics.median(p[0] for p in worst_pairs),
        "own_worst": statistics.median(p[1] for p in worst_pairs),
        "bound_held": sum(1 for s, o in worst_pairs if s <= o + TIMER_ALLOWANCE_MS) / len(worst_pairs),
    }


def reader_cost(threads: int = 200, reads: int = 200) -> tuple[float, float]:
    """(us per tick, us per thread) of reading one app with `threads` threads, as the helper does."""
    script = (
        "import threading, time\n"
        f"for _ in range({threads - 1}):\n"
        "    threading.Thread(target=time.sleep, args=(600,), daemon=True).start()\n"
        "print(flush=True)\n"
        "time.sleep(600)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        proc.stdout.readline()
        rec = replace(record(proc.pid), threads=threads)
        reader = SchedstatReader()
        reader.read({"focus": [rec]})
        t0 = time.thread_time()
        for _ in range(reads):
            reader.read({"focus": [rec]})
        cost = (time.thread_time() - t0) / reads * 1e6
        reader.close()
    finally:
        proc.kill()
        proc.wait()
    return cost, cost / threads


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args()
    cpu = max(os.sched_getaffinity(0))
    with Workspace() as ws:
        src = ws.dir / "waker.c"
        src.write_text(WAKER_C)
        waker_bin = ws.dir / "waker"
        subprocess.run(["gcc", "-O2", "-o", str(waker_bin), str(src)], check=True)
        phases = [("alone", 0), (f"storm of {STORM} nice {STORM_NICE} spinners on its CPU", STORM)]
        results = [(name, run_phase(ws, waker_bin, cpu, args.seconds, storm)) for name, storm in phases]
    print(f"waker: 0.5 ms of CPU work every {PERIOD_MS:g} ms on CPU {cpu}; schedstat read once a second")
    ok = True
    for name, r in results:
        allowed = 0.10 * r["own"] + TIMER_ALLOWANCE_MS * r["cycles_per_s"]
        within = abs(r["sched"] - r["own"]) <= allowed
        ok = ok and within
        print(
            f"{name}: waited {r['own']:.1f} ms/s by its own clock, {r['sched']:.1f} ms/s by schedstat "
            f"(ratio {r['sched'] / r['own']:.2f}; per-tick mean |diff| {r['diff']:.1f} ms/s over "
            f"{r['ticks']} ticks; tolerance {allowed:.1f} ms/s: {'within' if within else 'OUTSIDE'})"
        )
        print(
            f"  worst wait, median per tick: own (its worst cycle) {r['own_worst']:.2f} ms, schedstat "
            f"{r['sched_worst']:.2f} ms (worst wait per slice: a lower bound, held in "
            f"{100 * r['bound_held']:.0f} % of ticks; this kernel has no CONFIG_SCHEDSTATS wait_max)"
        )
    print(f"schedstat matches the waker's own measurement within tolerance: {ok}")
    tick, per_thread = reader_cost()
    print(
        f"reader cost: {tick:.0f} us a tick for an app of 200 threads ({per_thread:.2f} us a thread), "
        f"{tick / 1e4:.4f} % of a core at a 1 s tick"
    )


if __name__ == "__main__":
    main()
