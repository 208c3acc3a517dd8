"""Builders for the ml tests: observations, core snapshots and small traces in real snapshot logs."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from smoothdesk.core import AppGroup, ProcessRecord, PsiFigures, Snapshot, SystemStats
from smoothdesk.core.observation import GroupObservation
from smoothdesk.ml.training.trace import Tick, generate
from smoothdesk.telemetry.store import SnapshotStore

BASE = GroupObservation(
    ts=1_700_000_000.0,
    group_id="unit:app-x.scope",
    name="x",
    kind="unit",
    uid=1000,
    klass="normal",
    rule_type="",
    n_procs=1,
    n_threads=1,
    cpu_tick=0.0,
    cpu_10s=0.0,
    rss_bytes=50 * 2**20,
    io_read_rate=0.0,
    io_write_rate=0.0,
    age_s=600.0,
    has_tty=False,
    focused=False,
    audio=False,
    seconds_since_focus=-1.0,
    seconds_since_audio=-1.0,
    focus_count_1h=0,
)


def obs(**kw: Any) -> GroupObservation:
    return replace(BASE, **kw)


def proc(pid: int, **kw: Any) -> ProcessRecord:
    kw.setdefault("ppid", 1)
    kw.setdefault("uid", 1000)
    kw.setdefault("start_time", 1000)
    return ProcessRecord(pid=pid, comm=kw.pop("comm", f"p{pid}"), **kw)


def group(gid: str, *pids: int, kind: str = "tree") -> AppGroup:
    return AppGroup(gid, gid, kind, 1000, pids[0], tuple(pids))


def snap(
    *procs: ProcessRecord, mono: float = 100.0, wall: float = 1_700_000_000.0, psi: float = 0.0
) -> Snapshot:
    system = SystemStats(
        ncpu=2,
        cpu_busy=100.0 if psi else 10.0,
        running=6 if psi else 1,
        psi={"cpu.some": PsiFigures(avg10=psi)},
    )
    return Snapshot(mono, wall, system, {p.pid: p for p in procs})


def write_ticks(path: Path, ticks: list[Tick]) -> None:
    store = SnapshotStore.open(path, max_age_s=float("inf"))
    try:
        for t in ticks:
            store.write_tick(t.ts, t.sample, t.processes, t.rows, t.decisions, t.pid_groups)
            for e in t.events:
                store.write_focus(e.ts, e.group_id, e.pid, e.kind)
    finally:
        store.close()


def small_ticks(seed: int = 5, days: float = 0.05) -> list[Tick]:
    return list(generate(seed=seed, days=days))
