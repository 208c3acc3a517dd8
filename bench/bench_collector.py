"""Benchmark: ProcessTable.tick CPU cost with ~1000 sleeping processes, against naive reads."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

from smoothdesk.collector.errors import CollectorError
from smoothdesk.collector.netlink import ProcConnector
from smoothdesk.collector.procfs import read_process_full, read_stat
from smoothdesk.collector.tickstats import TickStats
from smoothdesk.collector.tracker import ProcessTable

PROC = Path("/proc")


def spawn_sleepers(count: int, batch: int) -> list[subprocess.Popen[bytes]]:
    """Start `count` sleep processes, `batch` per shell, each shell in its own process group."""
    shells: list[subprocess.Popen[bytes]] = []
    remaining = count
    while remaining > 0:
        n = min(batch, remaining)
        # The shell waits for its sleeps; killing its process group ends them all. The sleeps
        # end by themselves after 600 s should this script be killed with SIGKILL.
        script = f"i=0; while [ $i -lt {n} ]; do sleep 600 & i=$((i+1)); done; wait"
        shells.append(subprocess.Popen(["sh", "-c", script], start_new_session=True))
        remaining -= n
    return shells


def kill_sleepers(shells: list[subprocess.Popen[bytes]]) -> None:
    for shell in shells:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(shell.pid, signal.SIGKILL)
    for shell in shells:
        shell.wait()


def wait_for_count(expected: int, timeout: float = 60.0) -> int:
    deadline = time.monotonic() + timeout
    found = 0
    while time.monotonic() < deadline:
        found = sum(1 for name in os.listdir(PROC) if name.isdigit())
        if found >= expected:
            break
        time.sleep(0.2)
    return found


def wait_for_count_below(limit: int, timeout: float = 20.0) -> None:
    """Wait until the killed sleepers have been reaped (by init, after their shell died)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sum(1 for name in os.listdir(PROC) if name.isdigit()) <= limit:
            return
        time.sleep(0.2)


def naive_full(page_size: int, ncpu: int) -> int:
    """Read everything about every process, as a tool without a cache would each tick."""
    n = 0
    for name in os.listdir(PROC):
        if name.isdigit() and read_process_full(PROC, int(name), page_size, ncpu) is not None:
            n += 1
    return n


def naive_stat(_page_size: int, _ncpu: int) -> int:
    """List /proc and parse every stat: the cache without the hot set."""
    n = 0
    for name in os.listdir(PROC):
        if name.isdigit() and read_stat(PROC, int(name)) is not None:
            n += 1
    return n


def cpu_cost(fn: object, rounds: int, page_size: int, ncpu: int) -> float:
    assert callable(fn)
    costs = []
    for _ in range(rounds):
        start = time.process_time()
        fn(page_size, ncpu)
        costs.append(time.process_time() - start)
    return statistics.mean(costs)


def stage_means(ticks: list[TickStats]) -> dict[str, float]:
    if not ticks:
        return {}
    keys = ticks[0].stages().keys()
    return {k: statistics.mean(t.stages()[k] for t in ticks) for k in keys}


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1000:7.3f} ms"


class EventPump:
    """Feeds netlink events to the table once per tick, as the helper is meant to.

    fork/exec go to defer_pid (read at the tick), exit to forget: so the events
    queued since the last tick are drained just before it, with no wake-up per event.
    """

    def __init__(self, table: ProcessTable) -> None:
        self.table = table
        self.connector: ProcConnector | None = ProcConnector()
        self.cpu = 0.0
        self.events = 0
        try:
            self.connector.open()
        except CollectorError as exc:
            print(f"netlink events unavailable ({exc}); ticks rely on listing /proc")
            self.connector = None

    def drain(self) -> None:
        if self.connector is None:
            return
        start = time.process_time()
        for event in self.connector.read_events():
            self.events += 1
            if event.kind == "fork":
                self.table.defer_pid(event.child_pid)
            elif event.kind == "exec":
                self.table.defer_pid(event.pid)
            elif event.kind == "exit":
                self.table.forget(event.pid)
            elif event.kind == "overflow":
                self.table.request_sweep()
        self.cpu += time.process_time() - start

    def close(self) -> None:
        if self.connector is not None:
            self.connector.close()


def measure(table: ProcessTable, pump: EventPump, ticks: int, interval: float) -> list[TickStats]:
    # Let the post-discovery tick and the first rolling round pass before measuring.
    for _ in range(3):
        time.sleep(interval)
        pump.drain()
        table.tick(time.monotonic())
    pump.cpu, pump.events = 0.0, 0
    samples = []
    for _ in range(ticks):
        time.sleep(interval)
        pump.drain()
        table.tick(time.monotonic())
        samples.append(table.stats)
    return samples


def report(samples: list[TickStats], pump: EventPump, interval: float, full_every: float) -> float:
    cpu = [s.cpu_s for s in samples]
    mean = statistics.mean(cpu)
    print(f"\nProcessTable.tick over {len(samples)} ticks, {interval} s apart, full_every={full_every} s")
    print(f"  CPU per tick: mean {fmt_ms(mean)}  median {fmt_ms(statistics.median(cpu))}", end="")
    print(f"  max {fmt_ms(max(cpu))}")
    groups = (
        ("full sweeps", [s for s in samples if s.sweep]),
        ("listing ticks", [s for s in samples if s.listed and not s.sweep]),
        ("plain ticks", [s for s in samples if not s.listed and not s.sweep]),
    )
    for label, group in groups:
        if not group:
            continue
        reasons = sorted({s.sweep for s in group if s.sweep})
        extra = f"  ({','.join(reasons)})" if reasons else ""
        print(
            f"  {label:13s} n={len(group):2d}  CPU mean {fmt_ms(statistics.mean(s.cpu_s for s in group))}"
            f"  stat reads {statistics.mean(s.cheap_reads for s in group):6.1f}"
            f"  full reads {statistics.mean(s.full_reads for s in group):5.1f}{extra}"
        )
        print("      " + "  ".join(f"{k} {v * 1000:.3f}" for k, v in stage_means(group).items()) + " (ms)")
    last = samples[-1]
    print(f"  hot set at the end: {last.hot} of {last.known} known")
    print(f"  unaccounted sweeps skipped after a fruitless one: {sum(s.suppressed for s in samples)}")
    if pump.connector is not None:
        print(
            f"  netlink: {pump.events} events (fork/exec deferred to the next tick's full reads), "
            f"draining them cost {fmt_ms(pump.cpu / len(samples))} of CPU per tick"
        )
    return mean


def start_churn() -> subprocess.Popen[bytes]:
    """A build-like load: short-lived shells that each burn ~50 ms of CPU, one after another."""
    burn = "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done"
    return subprocess.Popen(["sh", "-c", f"while :; do sh -c '{burn}'; done"], start_new_session=True)


def run(count: int, ticks: int, interval: float, full_every: float, churn: bool) -> None:
    before = sum(1 for name in os.listdir(PROC) if name.isdigit())
    shells = spawn_sleepers(count, 100)
    if churn:
        shells.append(start_churn())
    pump: EventPump | None = None
    try:
        total = wait_for_count(before + count)
        print(f"processes in /proc: {total} ({count} sleepers + {before} others)")
        table = ProcessTable(full_every=full_every)
        pump = EventPump(table)
        start = time.process_time()
        table.tick(time.monotonic())
        first = time.process_time() - start
        print(f"first tick (full read of every process): {fmt_ms(first)}", end="")
        print(f"  {table.stats.full_reads} full reads")
        mean = report(measure(table, pump, ticks, interval), pump, interval, full_every)
        rounds = 5
        page_size, ncpu = os.sysconf("SC_PAGE_SIZE"), os.cpu_count() or 1
        full_cost = cpu_cost(naive_full, rounds, page_size, ncpu)
        stat_cost = cpu_cost(naive_stat, rounds, page_size, ncpu)
        print(f"\nnaive: read everything about every process: {fmt_ms(full_cost)} per tick")
        print(f"naive: list /proc and parse every stat:     {fmt_ms(stat_cost)} per tick")
        print(f"\nratio naive-full / ProcessTable mean: {full_cost / mean:6.1f}x")
        print(f"ratio naive-stat / ProcessTable mean: {stat_cost / mean:6.1f}x")
        verdict = "within" if mean <= 0.005 else "OVER"
        print(f"target <= 5 ms CPU per tick: {verdict} ({fmt_ms(mean)})")
    finally:
        if pump is not None:
            pump.close()
        kill_sleepers(shells)
        wait_for_count_below(before + count // 10)


def _interrupt(_signum: int, _frame: object) -> None:
    """SIGTERM takes the same clean-up path as Ctrl-C."""
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--processes", type=int, default=1000)
    parser.add_argument("--ticks", type=int, default=20)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--full-every", type=float, default=5.0)
    parser.add_argument(
        "--churn", action="store_true", help="measure under a stream of short-lived CPU-burning processes"
    )
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        run(args.processes, args.ticks, args.interval, args.full_every, args.churn)
    except KeyboardInterrupt:
        print("interrupted; sleepers killed", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
