"""Benchmark: rebuilding SLO budgets from the snapshot log at start, against the live per-tick cost.

A log of 7 days of 1 s samples (604,800 rows, each with the ~30 figures the helper logs per tick,
in the exact row format of SnapshotStore.write_tick, built by rows.sample_row; inserted in bulk so
that building it takes seconds, not the writer's week). Measured in one run:
  replay     slo_replay.replay as the helper runs it: one query that reads only the figures the
             default SLOs watch (columns, or json_extract from `extra`), fed to SloTracker.observe
  whole-row  the obvious alternative: every row parsed in Python (rows.sample_dict, json.loads),
             then the same observe; it must give the same budgets
  live       one tick of the helper's SLO work (observe + update) on the replayed tracker, whose
             deques now hold a full week of windows, and one GetSlo (status)
"""

from __future__ import annotations

import argparse
import math
import random
import shutil
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from common import REPO  # noqa: F401  (puts the repo on sys.path)

from smoothdesk.config.schema import defaults
from smoothdesk.helper.samples import JUDGED_ALIASES, judged
from smoothdesk.telemetry import rows
from smoothdesk.telemetry.schema import SAMPLE_COLUMNS
from smoothdesk.telemetry.slo import Slo, SloTracker, slos_from_settings
from smoothdesk.telemetry.slo_replay import replay
from smoothdesk.telemetry.store import SnapshotStore

INSERT = (
    f"INSERT INTO samples (ts, {', '.join(SAMPLE_COLUMNS)}, extra) "
    f"VALUES (?, {', '.join('?' * len(SAMPLE_COLUMNS))}, ?)"
)


def figures(rng: random.Random) -> dict[str, float]:
    """One tick's logged figures (samples.storable of a helper sample) on a busy-ish desktop."""
    # Rare spikes: about 1 % of minutes breach the default p99 and PSI objectives.
    p99 = rng.uniform(4, 30) if rng.random() < 0.0002 else rng.uniform(0.1, 2.5)
    psi = rng.uniform(20, 60) if rng.random() < 0.0002 else rng.uniform(0, 12)
    return {
        "cpu_busy": rng.uniform(5, 100), "psi_cpu_some": psi, "psi_io_some": rng.uniform(0, 5),
        "psi_memory_some": 0.0, "mem_available": 8.1e9, "demoted": 3.0, "tick_cost_ms": rng.uniform(2, 9),
        "memory_available_percent": 51.0, "swap_used_percent": 1.2, "psi_memory_full_avg10": 0.0,
        "psi_io_full_avg10": 0.1, "mem_total": 1.6e10, "swap_total": 2.0e9, "swap_free": 1.97e9,
        "latency_p50_ms": 0.08, "latency_p95_ms": 0.4, "latency_p99_ms": p99, "latency_max_ms": p99 * 2,
        "latency_missed": 0.0, "score": rng.uniform(80, 100), "audio_xruns": float(rng.random() < 0.00005),
        "cpu_class_normal": 12.0, "cpu_class_background": 40.0, "cpu_class_critical": 1.0,
        "cpu_class_interactive": 4.0, "disk_used_percent:/": 40.2, "disk_used_percent:/home": 71.9,
        "fg_cpu_pressure_some_avg10": rng.uniform(0, 10),
    }  # fmt: skip


def build(path: Path, start: float, n: int) -> None:
    SnapshotStore.open(path, max_bytes=2**40).close()  # the shipped schema, migrations and pragmas
    conn = sqlite3.connect(path, isolation_level=None)
    rng = random.Random(7)
    conn.execute("BEGIN")
    for first in range(0, n, 20_000):
        batch = [rows.sample_row(start + i, figures(rng)) for i in range(first, min(n, first + 20_000))]
        conn.executemany(INSERT, batch)
    conn.execute("COMMIT")
    conn.close()


def whole_rows(path: Path, slos: list[Slo], since: float, until: float) -> SloTracker:
    tracker = SloTracker(slos)
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    sql = f"SELECT ts, {', '.join(SAMPLE_COLUMNS)}, extra FROM samples WHERE ts >= ? AND ts < ? ORDER BY ts"
    cur = conn.execute(sql, (since, until))
    while chunk := cur.fetchmany(10_000):
        for row in chunk:
            sample = judged(rows.sample_dict(row))
            tracker.observe(sample["time"], sample)
    conn.close()
    return tracker


def live_tick_us(tracker: SloTracker, start: float, ticks: int) -> tuple[float, float]:
    """Median microseconds of one tick's observe + update, and of one status()."""
    rng = random.Random(3)
    tick, status = [], []
    for k in range(ticks):
        sample = judged(figures(rng))
        t0 = time.perf_counter()
        tracker.observe(start + k, sample)
        tracker.update(start + k)
        t1 = time.perf_counter()
        tick.append(t1 - t0)
        if k % 10 == 0:
            tracker.status(start + k)
            status.append(time.perf_counter() - t1)
    return statistics.median(tick) * 1e6, statistics.median(status) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=7.0, help="days of 1 s samples in the log")
    parser.add_argument("--live-ticks", type=int, default=3000)
    args = parser.parse_args()
    slos = slos_from_settings(defaults())
    n = int(args.days * 86400)
    until = math.floor(time.time() / 60) * 60
    start = until - n
    work = Path(tempfile.mkdtemp(prefix="sd-bench-slo-"))
    try:
        path = work / "snapshots.sqlite"
        t0 = time.perf_counter()
        build(path, start, n)
        print(f"log: {n} samples ({args.days:g} days at 1 s), {path.stat().st_size / 2**20:.0f} MiB, "
              f"built in {time.perf_counter() - t0:.1f} s")  # fmt: skip
        done = replay(path, slos, until=until, aliases=JUDGED_ALIASES)
        since = until - max(s.budget_period_s + s.window_s for s in slos)
        t0 = time.perf_counter()
        naive = whole_rows(path, slos, since, until)
        naive_s = time.perf_counter() - t0
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ours = [repr(s) for s in done.tracker.status(until)]
    assert ours == [repr(s) for s in naive.status(until)], "the two replays disagree"
    for s in done.tracker.status(until):
        print(f"  {s.name:10s} {s.bad_windows}/{s.total_windows} bad, budget left {s.budget_remaining:.1%}")
    tick_us, status_us = live_tick_us(done.tracker, until, args.live_ticks)
    per_sample_us = done.seconds / done.samples * 1e6
    print(f"replay    {done.seconds:.2f} s for {done.samples} samples ({per_sample_us:.2f} us each)")
    print(f"whole-row {naive_s:.2f} s (same budgets)")
    print(
        f"live      {tick_us:.1f} us per tick (observe + update) on a week of windows; "
        f"status {status_us:.0f} us"
    )
    print(f"ratio whole-row/replay: {naive_s / done.seconds:.1f}x")
    print(f"ratio replay/live tick: {done.seconds / (tick_us / 1e6):.0f} ticks of live SLO work "
          f"({per_sample_us / tick_us:.2f} of a live tick per replayed sample)")  # fmt: skip


if __name__ == "__main__":
    main()
