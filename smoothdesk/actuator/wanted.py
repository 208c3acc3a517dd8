"""Which processes the decisions want levers on, and which processes may be touched at all."""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence

from smoothdesk.actuator.cgroups import CgroupBackend
from smoothdesk.actuator.levers import NO_LEVERS, LeverSet
from smoothdesk.core import AppGroup, Decision, PriorityClass, ProcessRecord


def eligible(rec: ProcessRecord, user_uid: int | None) -> bool:
    """Defence in depth for the never-touch list (the policy already filters these)."""
    if rec.pid <= 1 or rec.kernel_thread or rec.realtime or rec.pid == os.getpid():
        return False
    return user_uid is None or rec.uid == user_uid


def pulls(decision: Decision, levers: Mapping[PriorityClass, LeverSet]) -> bool:
    """Whether any class in the decision pulls a lever here."""
    if not decision.manage:
        return False
    if levers.get(decision.klass, NO_LEVERS) != NO_LEVERS:
        return True
    return any(levers.get(m.klass, NO_LEVERS) != NO_LEVERS for m in decision.members)


def wanted_levers(
    decisions: Mapping[str, Decision],
    groups: Sequence[AppGroup],
    processes: Mapping[int, ProcessRecord],
    levers: Mapping[PriorityClass, LeverSet],
    may_touch: Callable[[ProcessRecord], bool],
) -> dict[int, tuple[PriorityClass, LeverSet]]:
    """pid -> (class, levers) for every member whose class pulls a lever."""
    wanted: dict[int, tuple[PriorityClass, LeverSet]] = {}
    for group in groups:
        decision = decisions.get(group.id)
        if decision is None or not pulls(decision, levers):
            continue
        # Classes are per process: a group's build is demoted, the app that runs it is not
        # (it may get the focused class's slice, the one lever that takes nothing from others).
        classes = decision.classes()
        for pid in group.members:
            klass = classes.get(pid, decision.klass)
            chosen = levers.get(klass, NO_LEVERS)
            if chosen == NO_LEVERS or pid in decision.exempt:
                continue
            rec = processes.get(pid)
            if rec is not None and may_touch(rec):
                wanted[pid] = (klass, chosen)
    return wanted


def cgroup_targets(
    wanted: Mapping[int, tuple[PriorityClass, LeverSet]],
    processes: Mapping[int, ProcessRecord],
    backend: CgroupBackend,
) -> dict[str, list[int]]:
    """The cgroup targets the wanted processes need moved or weighted, with their pids."""
    by_target: dict[str, list[int]] = defaultdict(list)
    for pid, (_, levers) in wanted.items():
        if levers.touches_cgroup and (t := backend.target(processes[pid])) is not None:
            by_target[t].append(pid)
    if not backend.per_process:
        # A unit's weight hits every process in it: only when all of them want it.
        for rec in processes.values():
            t = backend.target(rec)
            if t in by_target and rec.pid not in by_target[t]:
                del by_target[t]
    return by_target
