"""Builders of fake processes and snapshots for the grouper, guardrail and engine tests."""

from __future__ import annotations

from typing import Any

from smoothdesk.core import ProcessRecord, PsiFigures, Snapshot, SystemStats


def proc(pid: int, comm: str = "", **kw: Any) -> ProcessRecord:
    """A user process that leads its own session and job unless told otherwise."""
    kw.setdefault("ppid", 1)
    kw.setdefault("uid", 1000)
    kw.setdefault("session", pid)
    kw.setdefault("pgrp", pid)
    kw.setdefault("start_time", pid * 10)
    return ProcessRecord(pid=pid, comm=comm or f"p{pid}", **kw)


def kthread(pid: int, comm: str = "") -> ProcessRecord:
    return ProcessRecord(
        pid=pid,
        ppid=0 if pid == 2 else 2,
        uid=0,
        comm=comm or f"kworker/{pid}",
        start_time=pid,
        kernel_thread=True,
    )


def system(*, psi: float = 0.0, running: int = 1, ncpu: int = 2, busy: float = 10.0) -> SystemStats:
    return SystemStats(ncpu=ncpu, cpu_busy=busy, running=running, psi={"cpu.some": PsiFigures(avg10=psi)})


def waiting_system() -> SystemStats:
    """A machine where runnable work queues for the CPU (PSI well over 5%)."""
    return system(psi=25.0, running=6, busy=100.0)


def snap(*procs: ProcessRecord, sys: SystemStats | None = None, now: float = 0.0) -> Snapshot:
    return Snapshot(
        monotonic=now,
        wall=1_700_000_000.0 + now,
        system=sys if sys is not None else system(),
        processes={p.pid: p for p in procs},
    )
