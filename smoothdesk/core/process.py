"""One process as the collector sees it, and its PID-reuse-safe key."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

# Scheduling policies from <sched.h>; os.SCHED_* exist too but not on every platform.
SCHED_OTHER = 0
SCHED_FIFO = 1
SCHED_RR = 2
SCHED_BATCH = 3
SCHED_IDLE = 5
SCHED_DEADLINE = 6
REALTIME_POLICIES = frozenset({SCHED_FIFO, SCHED_RR, SCHED_DEADLINE})


class ProcKey(NamedTuple):
    """pid plus start time (clock ticks since boot): a reused PID gets a different key.

    A NamedTuple rather than a dataclass: the policy hashes every process's key every tick, and
    a tuple hashes in C where a dataclass's generated __hash__ runs Python code.
    """

    pid: int
    start_time: int

    def __str__(self) -> str:
        return f"{self.pid}@{self.start_time}"


@dataclass(slots=True)
class ProcessRecord:
    """Everything known about one process at one tick.

    Rates are per second; cpu figures are percent of one core (a process
    spinning on two cores shows 200).
    """

    pid: int
    ppid: int
    uid: int
    comm: str
    start_time: int
    exe: str = ""
    cmdline: tuple[str, ...] = ()
    cgroup: str = ""
    unit: str | None = None
    autogroup: int | None = None
    autogroup_nice: int | None = None
    session: int = 0
    pgrp: int = 0
    tty: int = 0
    state: str = "S"
    nice: int = 0
    policy: int = SCHED_OTHER
    rt_priority: int = 0
    ioprio: int | None = None
    affinity_restricted: bool = False
    kernel_thread: bool = False
    cpu_tick: float = 0.0
    cpu_10s: float = 0.0
    rss: int = 0
    io_read_rate: float = 0.0
    io_write_rate: float = 0.0
    threads: int = 1
    cpu_ticks_total: int = 0
    first_seen: float = 0.0
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> ProcKey:
        return ProcKey(self.pid, self.start_time)

    @property
    def realtime(self) -> bool:
        return self.policy in REALTIME_POLICIES

    @property
    def name(self) -> str:
        """The executable's base name, falling back to comm (which the kernel cuts at 15)."""
        if self.exe:
            base = self.exe.rsplit("/", 1)[-1]
            if base.endswith(" (deleted)"):
                base = base[: -len(" (deleted)")]
            if base:
                return base
        return self.comm
