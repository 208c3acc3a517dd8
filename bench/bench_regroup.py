"""Fast-path regroup: CPU per batch of exec events with ~1000 real processes, full vs incremental.

Between ticks the helper regroups after every batch of exec events from the proc connector. A
compile job execs hundreds of times a second, so this cost is paid at that rate. Prints the
median CPU per batch of one new process for a full `group_processes` and for `regroup_changed`,
and their ratio, measured in one run on the same snapshot.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from bench_collector import kill_sleepers, spawn_sleepers

from smoothdesk.collector.tracker import ProcessTable
from smoothdesk.policy.grouper import group_processes, regroup_changed


def cpu_ms(fn: object, rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        t0 = time.process_time()
        fn()  # type: ignore[operator]
        samples.append((time.process_time() - t0) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--processes", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    # Ten sleeps per job: about a hundred groups of ten, like shells with their children.
    shells = spawn_sleepers(args.processes, 10)
    try:
        time.sleep(2.0)
        table = ProcessTable(Path("/"))
        snapshot = table.tick(time.monotonic())
        groups = {g.id: g for g in group_processes(snapshot)}
        newest = max(snapshot.processes.values(), key=lambda p: p.start_time)
        full = cpu_ms(lambda: group_processes(snapshot), args.rounds)
        incremental = cpu_ms(lambda: regroup_changed(groups, snapshot, [newest]), args.rounds)
    finally:
        kill_sleepers(shells)
    print(f"{len(snapshot.processes)} processes in {len(groups)} groups, one exec per batch")
    print(f"full regroup        {full:.3f} ms CPU per batch (median of {args.rounds})")
    print(f"incremental regroup {incremental:.3f} ms CPU per batch")
    print(f"ratio full / incremental: {full / max(incremental, 1e-6):.0f}x")
    print(f"at 200 execs/s: {full * 200 / 10:.1f}% vs {incremental * 200 / 10:.2f}% of one core")


if __name__ == "__main__":
    main()
