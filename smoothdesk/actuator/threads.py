"""Applying and undoing the per-thread levers (nice, policy, ioprio, slice, timer slack) of one process."""

from __future__ import annotations

import errno
from dataclasses import dataclass
from pathlib import Path

from smoothdesk.actuator.journal import ProcEntry, ThreadRecord
from smoothdesk.actuator.levers import LeverSet, thread_target
from smoothdesk.actuator.slices import set_slice
from smoothdesk.actuator.syscalls import (
    ThreadState,
    list_tids,
    read_thread,
    set_ioprio,
    set_nice,
    set_policy,
    set_slack,
)


@dataclass(frozen=True, slots=True)
class ThreadChange:
    tid: int
    current: ThreadState
    target: ThreadState


_FIELDS = ("nice", "policy", "ioprio", "slice_ns", "slack_ns")
_RESTORE_ORDER = ("slice_ns", "nice", "policy", "ioprio", "slack_ns")


def _derive(entry: ProcEntry, current: ThreadState) -> ThreadRecord:
    """Originals for a thread we have not recorded: a thread created by a demoted thread
    inherits our values, so each field still holding a value we set gets the original we
    journaled for it; a field the program set itself is its own original."""
    orig: dict[str, int] = {}
    ours: dict[str, int] = {}
    records = sorted(entry.threads.items(), key=lambda kv: kv[0] != entry.key.pid)
    for name in _FIELDS:
        have = getattr(current, name)
        match = next((r for _, r in records if getattr(r.set, name) == have != getattr(r.orig, name)), None)
        orig[name] = getattr(match.orig, name) if match is not None else have
        ours[name] = have if match is not None else orig[name]
    return ThreadRecord(ThreadState(**orig), ThreadState(**ours))


def plan_threads(
    entry: ProcEntry, tids: list[int], levers: LeverSet, *, only_new: bool
) -> list[ThreadChange]:
    """Record the originals of threads not seen before and return the changes still needed.

    Mutates `entry` (the caller journals it before executing the changes).
    """
    changes: list[ThreadChange] = []
    for tid in tids:
        rec = entry.threads.get(tid)
        if only_new and rec is not None:
            continue
        try:
            current = read_thread(tid)
        except ProcessLookupError:
            continue  # the thread exited meanwhile
        orig = rec.orig if rec is not None else _derive(entry, current).orig
        if orig.slack_ns == 0:
            # Journaled before the slack was a lever (we never set it): the thread's own is the original.
            orig = orig._replace(slack_ns=current.slack_ns)
        target = thread_target(orig, levers)
        entry.threads[tid] = ThreadRecord(orig, target)
        if current != target:
            changes.append(ThreadChange(tid, current, target))
    return changes


def _set(tid: int, current: ThreadState, target: ThreadState) -> None:
    # A slice is only set or cleared while the thread is SCHED_OTHER/BATCH: clear it before a
    # move to SCHED_IDLE, set it after the policy is final.
    slice_first = current.slice_ns != target.slice_ns and target.slice_ns == 0
    if slice_first:
        set_slice(tid, 0)
    # nice first: leaving SCHED_IDLE is checked against the thread's nice at that moment.
    if current.nice != target.nice:
        set_nice(tid, target.nice)
    if current.policy != target.policy:
        set_policy(tid, target.policy)
    if current.ioprio != target.ioprio:
        set_ioprio(tid, target.ioprio)
    if current.slice_ns != target.slice_ns and not slice_first:
        set_slice(tid, target.slice_ns)
    if current.slack_ns != target.slack_ns:
        set_slack(tid, target.slack_ns)


def execute(pid: int, changes: list[ThreadChange], proc_root: Path) -> OSError | None:
    """Apply planned changes; None on success, else the error that stopped us (thread exits
    while the process lives are not errors)."""
    for change in changes:
        try:
            _set(change.tid, change.current, change.target)
        except ProcessLookupError as exc:
            if not (proc_root / str(pid)).exists():
                return exc
        except OSError as exc:
            return exc
    return None


def restore_threads(entry: ProcEntry, proc_root: Path) -> list[str]:
    """Undo our values on every live thread, field by field, only where our value is still
    there (a value the program changed since is its own). Returns what the kernel refused.

    Raises ProcessLookupError when the process is gone.
    """
    refused: list[str] = []
    pid = entry.key.pid
    for tid in list_tids(pid, proc_root):
        try:
            current = read_thread(tid)
        except ProcessLookupError:
            continue
        rec = entry.threads.get(tid) or _derive(entry, current)
        # The slice goes first: with reset-on-fork already cleared, a fork would inherit it.
        setters = (set_slice, set_nice, set_policy, set_ioprio, set_slack)
        for field, setter in zip(_RESTORE_ORDER, setters, strict=True):
            have = getattr(current, field)
            orig, ours = getattr(rec.orig, field), getattr(rec.set, field)
            if have != ours or orig == ours:
                continue
            try:
                setter(tid, orig)
            except ProcessLookupError:
                break
            except OSError as exc:
                # EINVAL: a slice cannot be cleared while the program keeps the thread SCHED_IDLE.
                if exc.errno not in (errno.EPERM, errno.EACCES, errno.EINVAL):
                    raise
                refused.append(f"{entry.key} thread {tid}: {field} {have} -> {orig} refused")
    return refused
