"""Demotions inherited by fork: journaled with the ancestor's originals, so they are given back too.

A process forked by one we demoted is born with our nice, policy, ioprio and cgroup, and no
journal entry of ours says so: a stop or a crash would leave it demoted for good. Each lever
the child still holds at its parent's demoted value is ours, and its original is the parent's
original (for a grandchild, the original its parent inherited). A lever the child set itself
is its own: it is journaled as its own original and never touched. The child's entry names its
parent and takes its class; whether it stays demoted is the next decision's to say, like any
other entry's.

Children are learnt of from fork events (`adopt_forks`), from the tick (`adopt_table`: a process
whose parent is journaled), and at stop, pause and crash recovery from a sweep of the process
tree and of our own cgroups (inherit_sweep), which also finds those born while no one listened.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path
from typing import Protocol, runtime_checkable

from smoothdesk.actuator.journal import CgroupEntry, JournalData, ProcEntry, ThreadRecord
from smoothdesk.actuator.levers import LeverSet
from smoothdesk.actuator.syscalls import ThreadState, list_tids, read_start_time, read_thread
from smoothdesk.core import PriorityClass, ProcessRecord, ProcKey

_PPID = attrgetter("ppid")


@runtime_checkable
class MovingCgroups(Protocol):
    """What a cgroupfs backend that moves processes into our groups offers (cgroup_fs)."""

    name: str

    def current_path(self, pid: int) -> str: ...
    def class_path(self, klass: PriorityClass) -> str: ...
    def class_of(self, path: str) -> PriorityClass | None: ...
    def swept_pids(self) -> set[int]: ...
    def target(self, record: ProcessRecord) -> str | None: ...


@dataclass(slots=True)
class Ancestor:
    """A process whose journal entries a child's originals come from."""

    key: ProcKey
    klass: str
    proc: ProcEntry | None = None
    cgroup: CgroupEntry | None = None


def ancestors(data: JournalData) -> dict[int, Ancestor]:
    """Every journaled process by pid, with its thread and cgroup entries."""
    out = {key.pid: Ancestor(key, p.klass, p) for key, p in data.procs.items()}
    for c in data.cgroups.values():
        if c.member is None:
            continue
        a = out.get(c.member.pid)
        if a is None:
            out[c.member.pid] = Ancestor(c.member, c.klass, None, c)
        elif a.key == c.member:
            a.cgroup = c
    return out


def inherited_record(parent: ProcEntry, current: ThreadState, prefer: int = 0) -> ThreadRecord:
    """A child thread's record: each field still at a value we set on a parent thread (the one
    that forked first, then the leader) gets that thread's original; any other is its own."""
    records = sorted(parent.threads.items(), key=lambda kv: (kv[0] != prefer, kv[0] != parent.key.pid))
    orig: dict[str, int] = {}
    for name in ThreadState._fields:
        have = getattr(current, name)
        match = next((r for _, r in records if getattr(r.set, name) == have != getattr(r.orig, name)), None)
        orig[name] = getattr(match.orig, name) if match is not None else have
    return ThreadRecord(ThreadState(**orig), current)


class Inheritance:
    """Adopts children into the journal data it is handed (the actuator holds the lock)."""

    def __init__(
        self,
        proc_root: Path,
        backend: object,
        levers: Mapping[PriorityClass, LeverSet],
        user_uid: int | None = None,
    ) -> None:
        self.proc_root = proc_root
        self.cgroups = backend if isinstance(backend, MovingCgroups) else None
        self.levers = levers
        self.user_uid = user_uid
        self._checked: set[ProcKey] = set()

    def allowed(self, pid: int, uid: int) -> bool:
        """Never PID 1 or the helper itself; in user mode only the user's own processes."""
        return pid > 1 and pid != os.getpid() and (self.user_uid is None or uid == self.user_uid)

    def adopt(self, data: JournalData, pid: int, parent: Ancestor, prefer: int = 0) -> bool:
        """Journal `pid` as `parent`'s child if it inherited any of its demotion."""
        try:
            start = read_start_time(pid, self.proc_root)
            uid = (self.proc_root / str(pid)).stat().st_uid
        except (OSError, ValueError, IndexError):
            return False
        key = ProcKey(pid, start)
        if start < parent.key.start_time or key in data.procs or not self.allowed(pid, uid):
            return False
        threads: dict[int, ThreadRecord] = {}
        if parent.proc is not None:
            try:
                for tid in list_tids(pid, self.proc_root):
                    threads[tid] = inherited_record(parent.proc, read_thread(tid), prefer)
            except OSError:
                return False  # it exited meanwhile (or a thread did: the next look sees it)
        inherited = any(r.orig != r.set for r in threads.values())
        cg = self._cgroup(key, uid, parent)
        if cg is not None:
            data.cgroups[cg.target] = cg
        if inherited:
            data.procs[key] = ProcEntry(key, uid, parent.klass, threads, parent.key)
        return inherited or cg is not None

    def _cgroup(self, key: ProcKey, uid: int, parent: Ancestor) -> CgroupEntry | None:
        pc, backend = parent.cgroup, self.cgroups
        if pc is None or backend is None or backend.name != pc.backend:
            return None
        try:
            if backend.current_path(key.pid) != backend.class_path(PriorityClass(pc.klass)):
                return None  # it moved itself, or was born before the parent's move
        except (OSError, ValueError):
            return None
        target = backend.target(ProcessRecord(key.pid, 0, uid, "", key.start_time))
        if target is None:
            return None
        return CgroupEntry(target, pc.backend, pc.klass, dict(pc.original), key, parent.key)

    def adopt_forks(self, data: JournalData, forks: Iterable[tuple[int, int, int]]) -> int:
        """Fork events as (parent pid, child pid, forking thread), oldest first."""
        index: dict[int, Ancestor] | None = None
        adopted = 0
        for ppid, child, ptid in forks:
            if index is None:
                index = ancestors(data)
            parent = index.get(ppid)
            if parent is not None and self.adopt(data, child, parent, ptid):
                adopted += 1
                index = None  # the child may fork in this same batch
        return adopted

    def adopt_table(self, data: JournalData, processes: Mapping[int, ProcessRecord]) -> int:
        """Children the tick's table shows under a journaled parent (each read once)."""
        index = ancestors(data)
        checked: set[ProcKey] = set()
        adopted = 0
        if index.keys().isdisjoint(map(_PPID, processes.values())):
            # No journaled process has a child now (the usual tick): found in C, not record by record.
            self._checked = checked
            return 0
        for rec in processes.values():
            parent = index.get(rec.ppid)
            if parent is None or rec.key in data.procs or rec.start_time < parent.key.start_time:
                continue
            checked.add(rec.key)
            if rec.key not in self._checked and self.adopt(data, rec.pid, parent):
                adopted += 1
        self._checked = checked
        return adopted

    def adopt_record(self, data: JournalData, rec: ProcessRecord) -> bool:
        """The fast path's one new process, if its parent is journaled and it is not yet."""
        parent = ancestors(data).get(rec.ppid) if rec.key not in data.procs else None
        return parent is not None and self.adopt(data, rec.pid, parent)

    def unseen(
        self,
        data: JournalData,
        gone: Sequence[ProcKey],
        cg_back: Sequence[str],
        processes: Mapping[int, ProcessRecord],
    ) -> tuple[list[ProcKey], list[str]]:
        """Drop from what apply() gives back the children adopted from a fork event that the
        table has not read yet: no decision has judged them, so they keep their parent's."""

        def waiting(key: ProcKey | None, parent: ProcKey | None) -> bool:
            return key is not None and parent is not None and key.pid not in processes and self._alive(key)

        procs = [k for k in gone if not waiting(k, data.procs[k].parent)]
        cgroups = [t for t in cg_back if not waiting(data.cgroups[t].member, data.cgroups[t].parent)]
        return procs, cgroups

    def _alive(self, key: ProcKey) -> bool:
        try:
            return read_start_time(key.pid, self.proc_root) == key.start_time
        except (OSError, ValueError, IndexError):
            return False
