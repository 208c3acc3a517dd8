"""The sweep at stop, pause and crash recovery: every process still carrying a demotion of ours.

Fork events and the tick miss children born while no helper listened (after a crash) and those
forked while their parent was being restored. So before giving everything back, the process tree
is walked down from every journaled process (a child never started before its parent; a child
that set a lever itself is its own from there down), then our own cgroups are listed: each of
their members is there because of us. One the journal does not know is traced up its ppid chain
to a journaled ancestor; when that chain is broken (a parent exited and it was re-parented), it
gets, for each lever holding exactly what its group's class sets on a neutral process, the
neutral value, and it moves to its parent's cgroup (or the root when that is ours too).
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from smoothdesk.actuator.inherit import Ancestor, Inheritance, ancestors
from smoothdesk.actuator.journal import CgroupEntry, JournalData, ProcEntry, ThreadRecord
from smoothdesk.actuator.levers import NO_LEVERS, thread_target
from smoothdesk.actuator.syscalls import ThreadState, list_tids, read_thread
from smoothdesk.core import ProcessRecord, ProcKey
from smoothdesk.core.process import REALTIME_POLICIES, SCHED_OTHER

# What a process has when nobody changed it: nice 0, SCHED_OTHER, ioprio class none (from nice).
NEUTRAL = ThreadState(0, SCHED_OTHER, 0)
ROUNDS = 10  # restore-then-sweep rounds at a stop: each catches what forked during the one before
_PF_KTHREAD = 0x00200000

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Stat:
    ppid: int
    start: int
    skip: bool  # a kernel thread or a real-time task: never ours to touch


def _read(pid: int, proc_root: Path) -> _Stat | None:
    try:
        data = (proc_root / str(pid) / "stat").read_bytes()
        f = data[data.rindex(b")") + 2 :].split()
        skip = bool(int(f[6]) & _PF_KTHREAD) or int(f[38]) in REALTIME_POLICIES
        return _Stat(int(f[1]), int(f[19]), skip)
    except (OSError, ValueError, IndexError):
        return None


def scan(proc_root: Path) -> dict[int, _Stat]:
    """pid -> parent, start time, skip; for every process now."""
    table: dict[int, _Stat] = {}
    for name in os.listdir(proc_root):  # noqa: PTH208 - a few hundred names, no Path objects
        if name.isdigit() and (st := _read(int(name), proc_root)) is not None:
            table[int(name)] = st
    return table


def restore_rounds(inh: Inheritance, data: JournalData) -> Iterator[int]:
    """For restore_all: sweep, yield (the caller gives back all of `data`), and again while a
    sweep finds more. Restored parents are remembered: a child forked while its parent was being
    restored still carries the demotion.

    A fork storm can outrun ROUNDS rounds. Then one more sweep journals what it finds without
    giving it back: the journal stays, so the next start (or --recover) restores those, where
    otherwise nothing would have known of them."""
    remembered: dict[int, Ancestor] = {}
    for n in range(ROUNDS):
        found = sweep(inh, data, remembered)
        if n and not found:
            return
        remembered.update(ancestors(data))
        yield found
    left = sweep(inh, data, remembered)
    if left:
        log.warning("processes kept being born demoted through %d rounds; %d left journaled", ROUNDS, left)


def sweep(inh: Inheritance, data: JournalData, remembered: dict[int, Ancestor]) -> int:
    """Adopt into `data` every live process that inherited a demotion; returns how many."""
    table = scan(inh.proc_root)
    known = {**remembered, **ancestors(data)}
    children: dict[int, list[int]] = defaultdict(list)
    for pid, st in table.items():
        children[st.ppid].append(pid)
    queue = [a for a in known.values() if (t := table.get(a.key.pid)) and t.start == a.key.start_time]
    seen = {a.key.pid for a in queue}
    found = 0
    while queue:
        parent = queue.pop()
        for pid in children.get(parent.key.pid, ()):
            st = table[pid]
            if pid in seen or st.skip or st.start < parent.key.start_time:
                continue
            seen.add(pid)
            if inh.adopt(data, pid, parent):
                found += 1
                known = {**known, **ancestors(data)}
                queue.append(known[pid])
    return found + _sweep_cgroups(inh, data, table, known)


def _sweep_cgroups(
    inh: Inheritance, data: JournalData, table: dict[int, _Stat], known: dict[int, Ancestor]
) -> int:
    cg = inh.cgroups
    if cg is None:
        return 0
    members = {c.member.pid for c in data.cgroups.values() if c.member is not None}
    found = 0
    for pid in sorted(cg.swept_pids() - members):
        st = table.get(pid) or _read(pid, inh.proc_root)
        if st is None or st.skip:
            continue
        parent = _journaled_ancestor(pid, st, table, known)
        if (parent is not None and inh.adopt(data, pid, parent)) or _adopt_orphan(inh, data, pid, st):
            found += 1
    return found


def _journaled_ancestor(
    pid: int, st: _Stat, table: dict[int, _Stat], known: dict[int, Ancestor]
) -> Ancestor | None:
    """Up the ppid chain while each parent started no later than its child."""
    ppid, start = st.ppid, st.start
    # A table read while pids are reused can hold a ppid cycle of equal start times.
    visited = {pid}
    while ppid > 1 and ppid not in visited and (pst := table.get(ppid)) is not None and pst.start <= start:
        a = known.get(ppid)
        if a is not None and a.key.start_time == pst.start:
            return a
        visited.add(ppid)
        ppid, start = pst.ppid, pst.start
    return None


def _adopt_orphan(inh: Inheritance, data: JournalData, pid: int, st: _Stat) -> bool:
    cg = inh.cgroups
    assert cg is not None
    try:
        klass = cg.class_of(cg.current_path(pid))
        uid = (inh.proc_root / str(pid)).stat().st_uid
    except OSError:
        return False
    if klass is None or not inh.allowed(pid, uid):
        return False
    key = ProcKey(pid, st.start)
    demoted = thread_target(NEUTRAL, inh.levers.get(klass, NO_LEVERS))
    threads: dict[int, ThreadRecord] = {}
    try:
        for tid in list_tids(pid, inh.proc_root):
            cur = read_thread(tid)
            orig = {
                f: getattr(NEUTRAL, f) if getattr(cur, f) == getattr(demoted, f) else getattr(cur, f)
                for f in ThreadState._fields
            }
            threads[tid] = ThreadRecord(ThreadState(**orig), cur)
    except OSError:
        return False  # it exited meanwhile
    try:
        home = cg.current_path(st.ppid)
    except OSError:
        home = "/"
    if cg.class_of(home) is not None:
        home = "/"  # its parent is ours too: the root is where a process nobody placed lives
    target = cg.target(ProcessRecord(pid, st.ppid, uid, "", st.start))
    if target is None:
        return False
    data.cgroups[target] = CgroupEntry(target, cg.name, klass.value, {"path": home}, key)
    if any(r.orig != r.set for r in threads.values()):
        data.procs[key] = ProcEntry(key, uid, klass.value, threads)
    return True
