"""Benchmark: snapshot-log write cost per tick and growth per day at a 1 s tick, against naive variants.

A realistic desktop tick: ~300 processes (most idle, a dozen busy, some churn) in ~60 groups.
Variants, measured in the same run:
  store      SnapshotStore as shipped (busiest 20 processes + non-normal ones, one transaction per tick)
  all-procs  the same store keeping every process every tick
  per-row    the store's own code and rows without the per-tick transaction (a commit per row),
             on fewer ticks
  rollup     the helper's log with its full per-tick figures (~30), then every tick rolled up into
             per-minute rollups by the retention pass, which keeps one detail tick's group rows per
             minute (thinned): bytes per day raw against rolled up and thinned, and whether the
             default store.max_mb holds store.raw_hours raw plus max_age_days of the rest
"""

from __future__ import annotations

import argparse
import random
import shutil
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from common import REPO  # noqa: F401  (puts the repo on sys.path)

from smoothdesk.config.schema import OPTIONS
from smoothdesk.core.observation import GroupObservation
from smoothdesk.core.process import ProcessRecord
from smoothdesk.telemetry.recovery import open_or_replace
from smoothdesk.telemetry.retention import db_bytes
from smoothdesk.telemetry.store import SnapshotStore

# Of 60 groups: the audio server and compositor, the focused app, a build and an indexer demoted.
SPECIAL_CLASSES = {
    0: "critical",
    1: "interactive",
    2: "critical",
    3: "background",
    4: "idle",
    5: "background",
}
Tick = tuple[
    float, dict[str, float | int], list[ProcessRecord], list[GroupObservation], list[Any], dict[int, str]
]


class Desktop:
    """A stable set of groups and processes whose figures move a little every tick."""

    def __init__(self, n_procs: int, n_groups: int, seed: int = 1) -> None:
        self.rng = random.Random(seed)
        self.n_groups = n_groups
        self.next_pid = 1000
        self.groups = [self._group(i) for i in range(n_groups)]
        self.procs = [self._proc() for _ in range(n_procs)]
        self.busy = set(self.rng.sample(range(n_procs), 12))

    def _group(self, i: int) -> tuple[str, str, str, str]:
        klass = SPECIAL_CLASSES.get(i, "normal")
        if i % 3:
            return (f"unit:app-gnome-org.example.App{i}-{4000 + i}.scope", f"App{i}", "unit", klass)
        return (f"tree:1000:{2000 + i}:{2000 + i}", f"tool{i}", "tree", klass)

    def _proc(self) -> tuple[ProcessRecord, int]:
        self.next_pid += 1
        pid = self.next_pid
        long = self.rng.random() < 0.2  # browsers and electron apps: very long command lines
        args = (
            "/usr/lib/app/app",
            "--type=renderer",
            *(f"--flag-{k}=value{k}" for k in range(40 if long else 2)),
        )
        record = ProcessRecord(
            pid=pid,
            ppid=1,
            uid=1000,
            comm=f"proc{pid % 97}",
            start_time=pid * 10,
            exe="/usr/lib/app/app",
            cmdline=args,
            threads=1 + pid % 20,
            rss=self.rng.randrange(1 << 20, 1 << 29),
        )
        return record, self.rng.randrange(self.n_groups)

    def tick(self, ts: float, full: bool = False) -> Tick:
        """`full`: every figure the helper logs, not only the history's basic ones."""
        rng = self.rng
        if rng.random() < 0.1:  # process churn: one exits, one starts
            self.procs[rng.randrange(len(self.procs))] = self._proc()
        procs = []
        pid_groups = {}
        for k, (p, g) in enumerate(self.procs):
            cpu = (
                rng.uniform(5, 100) if k in self.busy else (rng.uniform(0, 2) if rng.random() < 0.05 else 0.0)
            )
            p.cpu_tick, p.cpu_10s = cpu, cpu * 0.9
            p.io_read_rate = rng.uniform(0, 1e6) if k in self.busy else 0.0
            procs.append(p)
            pid_groups[p.pid] = self.groups[g][0]
        members: dict[int, list[ProcessRecord]] = {}
        for p, g in self.procs:
            members.setdefault(g, []).append(p)
        obs = []
        for i, (gid, name, kind, klass) in enumerate(self.groups):
            ps = members.get(i, [])
            obs.append(
                GroupObservation(
                    ts,
                    gid,
                    name,
                    kind,
                    1000,
                    klass,
                    "",
                    len(ps),
                    sum(p.threads for p in ps),
                    sum(p.cpu_tick for p in ps),
                    sum(p.cpu_10s for p in ps),
                    sum(p.rss for p in ps),
                    sum(p.io_read_rate for p in ps),
                    0.0,
                    ts - 1000.0,
                    kind == "tree",
                    i == 1,
                    i == 2,
                    0.0 if i == 1 else -1.0,
                    0.0 if i == 2 else -1.0,
                    1 if i == 1 else 0,
                )
            )
        decisions = [(gid, klass, f"rule for {name}") for gid, name, _kind, klass in self.groups]
        sample = {
            "cpu_busy": rng.uniform(0, 100),
            "psi_cpu_some": rng.uniform(0, 20),
            "psi_io_some": 0.5,
            "psi_memory_some": 0.0,
            "mem_available": rng.randrange(1 << 31, 1 << 33),
            "demoted": 9,
            "tick_cost_ms": rng.uniform(2, 8),
            "latency_p99_ms": rng.uniform(0.1, 3),
        }
        if full:
            sample |= {
                **{f"latency_{q}_ms": rng.uniform(0.05, 2) for q in ("p50", "p95", "max")},
                "latency_missed": 0.0, "score": rng.uniform(80, 100), "memory_available_percent": 40.0,
                "swap_used_percent": 3.0, "psi_memory_full_avg10": 0.0, "psi_io_full_avg10": 0.1,
                "mem_total": 16e9, "swap_total": 2e9, "swap_free": 1.9e9,
                **{f"cpu_class_{k}": rng.uniform(0, 30) for k in ("critical", "interactive", "normal",
                                                                  "background", "idle")},
                **{f"disk_used_percent:{m}": 61.0 for m in ("/", "/home", "/boot/efi")},
                "fg_cpu_pressure_some_avg10": rng.uniform(0, 5), "fg_cpu_pressure_full_avg10": 0.0,
            }  # fmt: skip
        return ts, sample, procs, obs, decisions, pid_groups


def run_store(
    path: Path,
    ticks: int,
    n_procs: int,
    n_groups: int,
    keep: int,
    *,
    detail_every: int = 1,
    full: bool = False,
) -> dict[str, float]:
    """Groups and processes every `detail_every` ticks, figures every tick (store.detail_every)."""
    desktop = Desktop(n_procs, n_groups)
    store = SnapshotStore.open(path, processes_per_tick=keep, max_bytes=2**40, max_age_s=10**9)
    cpu_ms, wall_ms = [], []
    for t in range(ticks):
        args = desktop.tick(1_700_000_000.0 + t, full)
        if t % detail_every:
            args = (args[0], args[1], [], [], args[4])  # type: ignore[assignment]
        c0, w0 = time.process_time(), time.perf_counter()
        store.write_tick(*args)
        cpu_ms.append((time.process_time() - c0) * 1000)
        wall_ms.append((time.perf_counter() - w0) * 1000)
    store.close()
    conn = sqlite3.connect(path)
    size = db_bytes(conn)
    tables = dict(conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC LIMIT 4"))
    print(f"  {path.name}: bytes per table {tables}")
    conn.close()
    t0 = time.perf_counter()
    SnapshotStore.open(path).close()
    return {
        "cpu_ms": statistics.fmean(cpu_ms),
        "wall_ms": statistics.fmean(wall_ms),
        "wall_p95_ms": statistics.quantiles(wall_ms, n=20)[-1],
        "bytes": size,
        "bytes_per_tick": size / ticks,
        "open_ms": (time.perf_counter() - t0) * 1000,
    }


class PerRowStore(SnapshotStore):
    """The shipped store's rows and code, minus the transaction: every INSERT commits on its own."""

    def write_tick(self, ts, sample, processes, observations, decisions, pid_groups=None):  # type: ignore[no-untyped-def]  # noqa: PLR0917
        return self._insert_tick(
            self._conn,
            ts=ts,
            sample=sample,
            processes=processes,
            observations=observations,
            decisions=decisions,
            pid_groups=pid_groups or {},
        )


def run_per_row(path: Path, ticks: int, n_procs: int, n_groups: int, keep: int) -> dict[str, float]:
    desktop = Desktop(n_procs, n_groups)
    conn, _problems = open_or_replace(path, 10.0)
    store = PerRowStore(
        path, conn, [], hash_cmdlines=False, max_age_s=10**9, max_bytes=2**40, processes_per_tick=keep
    )
    cpu_ms, wall_ms = [], []
    for t in range(ticks):
        args = desktop.tick(1_700_000_000.0 + t)
        c0, w0 = time.process_time(), time.perf_counter()
        store.write_tick(*args)
        cpu_ms.append((time.process_time() - c0) * 1000)
        wall_ms.append((time.perf_counter() - w0) * 1000)
    store.close()
    return {"cpu_ms": statistics.fmean(cpu_ms), "wall_ms": statistics.fmean(wall_ms)}


# store.detail_every as shipped, in ticks of 1 s.
DETAIL = int(next(o.default for o in OPTIONS if o.key == "detail_every" and o.section == "store"))


def run_rollup(work: Path, ticks: int, n_procs: int, n_groups: int) -> dict[str, float]:
    """The helper's log with full figures, then all of it rolled up: bytes before and after."""
    path = work / "rollup.sqlite"
    raw = run_store(path, ticks, n_procs, n_groups, keep=20, detail_every=DETAIL, full=True)
    SnapshotStore.open(work / "empty.sqlite").close()
    empty = (work / "empty.sqlite").stat().st_size  # schema pages: not part of any day's growth
    store = SnapshotStore.open(path, max_age_s=10**9, max_bytes=2**40, raw_s=0.0)
    t0 = time.perf_counter()
    result = store.enforce_retention(now=1_700_000_000.0 + ticks + 60)
    seconds = time.perf_counter() - t0
    store.close()
    conn = sqlite3.connect(path)
    sql = (
        "SELECT sum(pgsize) FROM dbstat WHERE name IN ('thin_groups', 'thin_minutes', 'groups') "
        "OR name LIKE 'sqlite_autoindex_groups%'"
    )
    thinned = int(conn.execute(sql).fetchone()[0])
    conn.close()
    return {
        "raw": raw["bytes"] - empty,
        "rolled": result.bytes_after - empty - thinned,
        "thinned": thinned,
        "minutes": result.rolled_up_minutes,
        "seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--ticks", type=int, default=3600, help="ticks to write (1 s each); growth is scaled to a day"
    )
    parser.add_argument("--procs", type=int, default=300)
    parser.add_argument("--groups", type=int, default=60)
    parser.add_argument("--per-row-ticks", type=int, default=300)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sd-bench-store-"))
    try:
        shipped = run_store(work / "store.sqlite", args.ticks, args.procs, args.groups, keep=20)
        every = run_store(work / "all.sqlite", args.ticks, args.procs, args.groups, keep=10**6)
        helper = run_store(
            work / "helper.sqlite", args.ticks, args.procs, args.groups, keep=20, detail_every=DETAIL
        )
        per_row = run_per_row(work / "per-row.sqlite", args.per_row_ticks, args.procs, args.groups, keep=20)
        rolled = run_rollup(work, args.ticks, args.procs, args.groups)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    day = 86400 / args.ticks
    print(f"tick: {args.procs} processes, {args.groups} groups; {args.ticks} ticks written")
    variants = (
        (f"as the helper ships (detail {DETAIL} s)", helper),
        ("store (top 20 + non-normal)", shipped),
        ("all processes every tick", every),
    )
    for name, r in variants:
        print(
            f"{name:30s} write {r['cpu_ms']:.2f} ms CPU, {r['wall_ms']:.2f} ms wall "
            f"(p95 {r['wall_p95_ms']:.2f}) per tick; {r['bytes_per_tick']:.0f} B/tick; "
            f"{r['bytes'] / 2**20:.1f} MiB per {args.ticks} ticks -> {r['bytes'] * day / 2**20:.0f} MiB/day "
            f"at 1 s; reopen+quick_check {r['open_ms']:.0f} ms"
        )
    print(
        f"{'commit per row (same rows)':30s} write {per_row['cpu_ms']:.2f} ms CPU, "
        f"{per_row['wall_ms']:.2f} ms wall per tick"
    )
    print(
        f"ratio all-processes/store: {every['bytes'] / shipped['bytes']:.1f}x bytes, "
        f"{every['wall_ms'] / shipped['wall_ms']:.1f}x wall per tick"
    )
    print(
        f"ratio commit-per-row/store: {per_row['wall_ms'] / shipped['wall_ms']:.1f}x wall, "
        f"{per_row['cpu_ms'] / shipped['cpu_ms']:.1f}x CPU per tick"
    )
    print(f"ratio detail-every-tick/helper default: {shipped['bytes'] / helper['bytes']:.1f}x bytes")
    raw_day, rolled_day, thin_day = (rolled[k] * day for k in ("raw", "rolled", "thinned"))
    print(
        f"helper log with full figures: raw {raw_day / 2**20:.1f} MiB/day, rolled up "
        f"{rolled_day / 2**20:.2f} MiB/day + thinned group rows {thin_day / 2**20:.2f} MiB/day "
        f"({rolled['minutes']:.0f} minutes folded in {rolled['seconds']:.2f} s, "
        f"{rolled['seconds'] * day:.1f} s per day of ticks); ratio raw/(rolled-up + thinned) "
        f"{raw_day / (rolled_day + thin_day):.0f}x"
    )
    defaults = {o.key: o.default for o in OPTIONS if o.section == "store"}
    raw_h, age_d, limit = defaults["raw_hours"], defaults["max_age_days"], defaults["max_mb"] * 2**20
    old_days = age_d - raw_h / 24
    need = raw_day * raw_h / 24 + (rolled_day + thin_day) * old_days
    print(
        f"defaults: {raw_h:g} h raw + {old_days:g} days rolled up and thinned = {need / 2**20:.0f} MiB; "
        f"max_mb {limit / 2**20:.0f} MiB leaves margin x{limit / need:.2f} "
        f"(without rollups the limit holds {limit / raw_day:.1f} days)"
    )


if __name__ == "__main__":
    main()
