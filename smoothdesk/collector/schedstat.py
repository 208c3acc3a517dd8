"""How long a few processes' threads waited for a CPU, from /proc/PID/task/TID/schedstat.

The file holds "run_ns wait_ns slices": time on a CPU, time runnable on a run queue, and how many
times the thread got a CPU. The kernel adds a wait when the waiting thread arrives on a CPU
(sched_info_arrive), so a wait shows in the read after the thread ended it, and a thread whose
run time and slice count did not move has nothing new to say: only threads that ran count.

Cost: each thread's file is kept open and pread() at offset 0 every read (1.2 us a thread here,
against 6.5 us for open, read and close), up to `max_fds` open files; threads past that are read
the slow way. An fd held on a thread that exited reads ESRCH, also after its tid is reused, so a
reused tid is never read as the old thread. A process's task list is listed again only when its
thread count (from the process table) changes, or every RELIST_S.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from smoothdesk.core.process import ProcessRecord

MAX_FDS = 512
RELIST_S = 5.0
_GONE = (FileNotFoundError, ProcessLookupError, NotADirectoryError, PermissionError)


@dataclass(frozen=True, slots=True)
class CpuWait:
    """What one set of processes' threads waited for a CPU between two reads (times in ns).

    `worst_ns` is the worst single wait where the counters pin it down (a thread that got a CPU
    once in the interval waited exactly its delta) and otherwise the wait per slice (a lower
    bound of that thread's worst); `worst_exact` says which the largest was. `top_share` is the
    largest share of the interval one thread spent runnable and not running (0..1).
    """

    elapsed_s: float
    threads: int  # threads that ran in the interval
    wait_ns: int
    run_ns: int
    slices: int
    worst_ns: int
    worst_exact: bool
    top_share: float

    @property
    def wait_ms_per_s(self) -> float:
        return self.wait_ns / 1e6 / self.elapsed_s if self.elapsed_s > 0 else 0.0


@dataclass(slots=True)
class _Thread:
    fd: int  # -1: read by path
    run: int
    wait: int
    slices: int


@dataclass(slots=True)
class _Proc:
    start_time: int
    threads: dict[int, _Thread] = field(default_factory=dict)
    counted: int = -1  # the thread count the task list was listed at
    listed_at: float = float("-inf")
    read_at: float | None = None


@dataclass(slots=True)
class _Sum:
    elapsed: float = 0.0
    threads: int = 0
    wait: int = 0
    run: int = 0
    slices: int = 0
    worst: int = 0
    exact: bool = False
    top: float = 0.0
    measured: bool = False

    def add(self, d_run: int, d_wait: int, d_slices: int, elapsed: float) -> None:
        self.threads += 1
        self.wait += d_wait
        self.run += d_run
        self.slices += d_slices
        one = d_wait if d_slices <= 1 else d_wait // d_slices
        if one > self.worst or (one == self.worst and d_slices == 1):
            self.worst, self.exact = one, d_slices == 1
        if elapsed > 0:
            self.top = max(self.top, min(1.0, d_wait / 1e9 / elapsed))


class SchedstatReader:
    """`read({role: processes})` once per tick; a role is absent until one of its processes has
    been read twice, so "not measured yet" never reads as "waited 0"."""

    def __init__(
        self,
        proc_root: Path = Path("/"),
        *,
        max_fds: int = MAX_FDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.proc = f"{proc_root}/proc".replace("//", "/")
        self.max_fds = max_fds
        self.open_fds = 0
        self.reads = 0  # thread reads, for the benchmarks
        self._clock = clock
        self._procs: dict[int, _Proc] = {}

    def read(self, roles: Mapping[str, Iterable[ProcessRecord]]) -> dict[str, CpuWait]:
        now = self._clock()
        sums: dict[str, _Sum] = {}
        seen: dict[int, list[tuple[int, int, int]] | None] = {}
        elapsed: dict[int, float] = {}
        for role, records in roles.items():
            total = sums.setdefault(role, _Sum())
            for rec in records:
                if rec.pid not in seen:
                    before = self._procs.get(rec.pid)
                    last = (
                        before.read_at if before is not None and before.start_time == rec.start_time else None
                    )
                    seen[rec.pid] = self._deltas(rec, now)
                    elapsed[rec.pid] = now - last if last is not None else 0.0
                deltas = seen[rec.pid]
                if deltas is None:
                    continue
                total.measured = True
                total.elapsed = max(total.elapsed, elapsed[rec.pid])
                for d_run, d_wait, d_slices in deltas:
                    total.add(d_run, d_wait, d_slices, elapsed[rec.pid])
        for pid in [p for p in self._procs if p not in seen]:
            self._forget(pid)
        return {
            role: CpuWait(s.elapsed, s.threads, s.wait, s.run, s.slices, s.worst, s.exact, s.top)
            for role, s in sums.items()
            if s.measured
        }

    def close(self) -> None:
        for pid in list(self._procs):
            self._forget(pid)

    def _deltas(self, rec: ProcessRecord, now: float) -> list[tuple[int, int, int]] | None:
        """(run, wait, slices) deltas of the threads that ran since the last read; None: no baseline."""
        proc = self._procs.get(rec.pid)
        if proc is not None and proc.start_time != rec.start_time:
            self._forget(rec.pid)
            proc = None
        if proc is None:
            proc = self._procs[rec.pid] = _Proc(rec.start_time)
        stale = rec.threads != proc.counted or now - proc.listed_at >= RELIST_S
        if stale and not self._relist(rec.pid, proc, rec.threads, now):
            self._forget(rec.pid)
            return None
        out: list[tuple[int, int, int]] = []
        for tid, t in list(proc.threads.items()):
            values = self._read(rec.pid, tid, t.fd)
            if values is None:
                self._drop(proc, tid)
                continue
            run, wait, slices = values
            if t.slices >= 0 and (run != t.run or slices != t.slices):
                out.append((run - t.run, wait - t.wait, slices - t.slices))
            t.run, t.wait, t.slices = run, wait, slices
        had_baseline = proc.read_at is not None
        proc.read_at = now
        return out if had_baseline and proc.threads else None

    def _relist(self, pid: int, proc: _Proc, counted: int, now: float) -> bool:
        """Open the threads that appeared, close those that went; False when the process is gone."""
        try:
            tids = {int(t) for t in os.listdir(f"{self.proc}/{pid}/task")}  # noqa: PTH208 (str, cheaper)
        except _GONE:
            return False
        for tid in [t for t in proc.threads if t not in tids]:
            self._drop(proc, tid)
        for tid in tids - proc.threads.keys():
            fd = -1
            if self.open_fds < self.max_fds:
                try:
                    fd = os.open(self._path(pid, tid), os.O_RDONLY | os.O_CLOEXEC)
                    self.open_fds += 1
                except _GONE:
                    continue
            # slices -1: no baseline yet; the first read below sets one and counts nothing.
            proc.threads[tid] = _Thread(fd, 0, 0, -1)
        proc.counted, proc.listed_at = counted, now
        return True

    def _path(self, pid: int, tid: int) -> str:
        return f"{self.proc}/{pid}/task/{tid}/schedstat"

    def _read(self, pid: int, tid: int, fd: int) -> tuple[int, int, int] | None:
        self.reads += 1
        try:
            if fd >= 0:
                data = os.pread(fd, 96, 0)
            else:
                fd2 = os.open(self._path(pid, tid), os.O_RDONLY | os.O_CLOEXEC)
                try:
                    data = os.read(fd2, 96)
                finally:
                    os.close(fd2)
        except _GONE:
            return None
        parts = data.split()
        if len(parts) != 3:
            return None
        return int(parts[0]), int(parts[1]), int(parts[2])

    def _drop(self, proc: _Proc, tid: int) -> None:
        t = proc.threads.pop(tid)
        if t.fd >= 0:
            os.close(t.fd)
            self.open_fds -= 1

    def _forget(self, pid: int) -> None:
        proc = self._procs.pop(pid)
        for tid in list(proc.threads):
            self._drop(proc, tid)
