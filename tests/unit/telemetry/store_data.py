"""Builders of realistic ticks (processes, group observations, samples) for the snapshot log tests."""

from __future__ import annotations

import random

from smoothdesk.core.observation import GroupObservation
from smoothdesk.core.process import ProcessRecord

CLASSES = ("critical", "interactive", "normal", "background", "idle")


def observation(ts: float, i: int, rng: random.Random, klass: str = "normal") -> GroupObservation:
    return GroupObservation(
        ts=ts,
        group_id=f"unit:app-gnome-app{i}-{1000 + i}.scope" if i % 2 else f"tree:1000:{4000 + i}:{4000 + i}",
        name=f"app{i}",
        kind="unit" if i % 2 else "tree",
        uid=1000,
        klass=klass,
        rule_type="compiler" if i % 7 == 0 else "",
        n_procs=1 + i % 5,
        n_threads=3 + i % 11,
        cpu_tick=rng.choice([0.0, 0.0, rng.uniform(0, 200)]),
        cpu_10s=rng.uniform(0, 50),
        rss_bytes=rng.randrange(1 << 20, 1 << 31),
        io_read_rate=rng.choice([0.0, rng.uniform(0, 1e7)]),
        io_write_rate=rng.choice([0.0, rng.uniform(0, 1e6)]),
        age_s=rng.uniform(0, 86400),
        has_tty=i % 3 == 0,
        focused=i == 1,
        audio=i == 2,
        seconds_since_focus=-1.0 if i > 5 else rng.uniform(0, 3600),
        seconds_since_audio=-1.0,
        focus_count_1h=i % 4,
    )


def process(pid: int, rng: random.Random, cpu: float | None = None) -> ProcessRecord:
    return ProcessRecord(
        pid=pid,
        ppid=1,
        uid=1000,
        comm=f"proc{pid}",
        start_time=10_000 + pid,
        exe=f"/usr/bin/proc{pid}",
        cmdline=(f"/usr/bin/proc{pid}", "--type=renderer", f"--id={pid}", "--secret-token=hunter2"),
        nice=0,
        cpu_tick=rng.uniform(0, 5) if cpu is None else cpu,
        cpu_10s=rng.uniform(0, 5),
        rss=rng.randrange(1 << 20, 1 << 28),
        threads=1 + pid % 9,
    )


def sample(ts: float, rng: random.Random) -> dict[str, float | int]:
    return {
        "time": ts,
        "cpu_busy": rng.uniform(0, 100),
        "psi_cpu_some": rng.uniform(0, 30),
        "psi_io_some": rng.uniform(0, 10),
        "psi_memory_some": 0.0,
        "mem_available": rng.randrange(1 << 30, 1 << 33),
        "demoted": rng.randrange(0, 5),
        "tick_cost_ms": rng.uniform(1, 20),
        "latency_p99_ms": rng.uniform(0.1, 8),
    }


def tick(
    ts: float, rng: random.Random, n_groups: int = 6, n_procs: int = 30
) -> tuple[
    float, dict[str, float | int], list[ProcessRecord], list[GroupObservation], list[tuple[str, str, str]]
]:
    """One write_tick argument tuple."""
    groups = [observation(ts, i, rng, CLASSES[i % 5]) for i in range(n_groups)]
    procs = [process(100 + k, rng) for k in range(n_procs)]
    decisions = [(g.group_id, g.klass, f"rule {g.rule_type or 'default'}") for g in groups]
    return ts, sample(ts, rng), procs, groups, decisions
