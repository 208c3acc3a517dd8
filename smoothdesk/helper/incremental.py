"""What changed since the last tick, so a quiet machine costs almost nothing to manage."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from smoothdesk.core.classes import PriorityClass
from smoothdesk.core.decision import Decision
from smoothdesk.core.group import AppGroup, owners
from smoothdesk.core.process import ProcessRecord
from smoothdesk.core.snapshot import Snapshot
from smoothdesk.policy.engine import PolicyState
from smoothdesk.policy.grouper import regroup_changed


def changed_pids(
    before: Mapping[int, ProcessRecord], after: Mapping[int, ProcessRecord], candidates: Iterable[int]
) -> list[int]:
    """New or re-read processes, in pid order. The collector replaces a record when anything in it
    changes and shares unchanged ones between snapshots, so identity is the whole test; only the
    `candidates` it says it replaced are tested (not every process of the snapshot)."""
    return [pid for pid in sorted(candidates) if pid in after and before.get(pid) is not after[pid]]


def grouping_changed(
    before: Mapping[int, ProcessRecord], after: Mapping[int, ProcessRecord], changed: Iterable[int]
) -> bool:
    """Whether any fact the grouper uses moved: membership, or a changed record's identity."""
    if before.keys() != after.keys():
        return True
    for pid in changed:
        old, new = before[pid], after[pid]
        if old.kernel_thread and new.kernel_thread:
            continue  # workqueue kworkers rename themselves constantly; all share one group
        if (old.uid, old.session, old.pgrp, old.unit, old.comm, old.exe, old.ppid) != (
            new.uid,
            new.session,
            new.pgrp,
            new.unit,
            new.comm,
            new.exe,
            new.ppid,
        ):
            return True
    return False


def live_groups(state: PolicyState) -> set[str]:
    """Groups whose verdict depends on the clock: a heuristic timer running, or a focus or
    audio grace period. They are decided every tick even when nothing else moved. The engine
    keeps this set as it changes the state (PolicyState.live), so no group's state is looked at."""
    return set(state.live)


def dirty_groups(
    groups: Mapping[str, AppGroup],
    previous: Mapping[str, AppGroup],
    changed: Iterable[int],
    extra: set[str],
    listed: Sequence[AppGroup] | None = None,
) -> list[AppGroup]:
    """Groups to decide this tick: new or reshaped ones, those with a changed member, and `extra`.
    `listed`: `groups`' values as the one list the caller keeps until it regroups, so that
    core.group.owners indexes it once (without it, the groups are indexed afresh)."""
    wanted = set(extra)
    if groups is not previous:  # the same dict: no group is new or reshaped
        for gid, group in groups.items():
            old = previous.get(gid)
            if old is None or old.members != group.members:
                wanted.add(gid)
    touched = set(changed)
    if touched:
        index = owners(listed if listed is not None else list(groups.values()))
        wanted.update(index[p].id for p in touched if p in index)
    return [groups[g] for g in sorted(wanted) if g in groups]


def actuation_set(
    decisions: Mapping[str, Decision], groups: Mapping[str, AppGroup], decided: Iterable[AppGroup]
) -> list[AppGroup]:
    """Groups handed to the actuator: the ones just decided plus every one it may have changed
    (demoted, or critical or interactive, which get a slice), because the actuator treats a
    managed process missing from its input as gone and restores it."""
    out = {g.id: g for g in decided}
    for gid, d in decisions.items():
        if d.klass is _NORMAL and not d.members:
            continue  # neither demoted nor promoted; most groups, so tested first and cheaply
        if (d.demotes or _promoted(d)) and gid in groups:
            out.setdefault(gid, groups[gid])
    return list(out.values())


_NORMAL = PriorityClass.NORMAL


_PROMOTED = frozenset({PriorityClass.CRITICAL, PriorityClass.INTERACTIVE})


def _promoted(d: Decision) -> bool:
    return d.manage and (d.klass in _PROMOTED or any(m.klass in _PROMOTED for m in d.members))


def regrouped(
    groups: Mapping[str, AppGroup],
    snapshot: Snapshot,
    changed: Sequence[ProcessRecord],
    exited: Iterable[int],
    own_pids: frozenset[int],
) -> tuple[dict[str, AppGroup], dict[str, AppGroup]]:
    """A new groups dict with only the touched groups rebuilt (the tick compares it with the
    old one), sorted like group_processes' when a group appeared; and the rebuilt groups."""
    rebuilt, emptied = regroup_changed(groups, snapshot, changed, exited, own_pids)
    out = {gid: g for gid, g in groups.items() if gid not in emptied}
    fresh = not rebuilt.keys() <= out.keys()
    out.update(rebuilt)
    return (dict(sorted(out.items())) if fresh else out), rebuilt
