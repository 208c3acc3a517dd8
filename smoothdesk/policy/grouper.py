"""Groups processes into applications: systemd app units first, else session and job."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping

from smoothdesk.core import AppGroup, ProcessRecord, Snapshot

KERNEL_GROUP_ID = "kernel"
INIT_GROUP_ID = "init"
SELF_GROUP_ID = "self"

# Units that merely contain a login session or a user's whole service tree: grouping by them
# would lump a terminal, its compile job and the browser together.
_CONTAINER_UNIT = re.compile(
    r"(user@\d+\.service|user-runtime-dir@\d+\.service|session-[^.]+\.scope|init\.scope|.*\.slice)"
)
_ESCAPE = re.compile(r"\\x([0-9a-fA-F]{2})")
_KTHREADD_PID = 2


def unescape_unit(text: str) -> str:
    """Undo systemd's `\\xHH` escaping (a dash inside a name is written `\\x2d`)."""
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)


def group_unit(unit: str | None) -> str | None:
    """The unit a process should be grouped by, or None to group by process tree."""
    if not unit or _CONTAINER_UNIT.fullmatch(unit):
        return None
    if unit.endswith(".service"):
        return unit
    if unit.endswith(".scope") and (unit.startswith(("app-", "snap."))):
        return unit
    return None


def _pretty_app_id(app_id: str) -> str:
    app_id = unescape_unit(app_id).removesuffix(".desktop")
    parts = app_id.split(".")
    # Reverse-DNS ids (org.gnome.Terminal) read best as their last label.
    if len(parts) >= 3 and all(parts):
        return parts[-1]
    return app_id


def unit_display_name(unit: str) -> str:
    """A short name for a unit, following systemd's desktop naming convention.

    `app[-<launcher>]-<ApplicationID>[@<RANDOM>].service` and
    `app[-<launcher>]-<ApplicationID>-<RANDOM>.scope` give the application id;
    `snap.<name>.<app>-<uuid>.scope` gives the snap's name; other units lose their suffix.
    """
    stem, _, suffix = unit.rpartition(".")
    if not stem:
        return unescape_unit(unit)
    if stem.startswith("snap.") and suffix == "scope":
        return unescape_unit(stem.split(".")[1]) or unit
    if not stem.startswith("app-"):
        return unescape_unit(stem)
    rest = stem[len("app-") :]
    if suffix == "service":
        rest = rest.partition("@")[0]
    parts = rest.split("-")
    if suffix == "scope" and len(parts) > 1:
        parts = parts[:-1]
    if len(parts) > 1:
        parts = parts[1:]  # a launcher prefix such as "gnome", "kde" or "flatpak"
    return _pretty_app_id("-".join(parts)) or unit


def _oldest(procs: Iterable[ProcessRecord]) -> ProcessRecord:
    return min(procs, key=lambda p: (p.start_time, p.pid))


def _is_kernel(proc: ProcessRecord) -> bool:
    return proc.kernel_thread or proc.pid == _KTHREADD_PID or proc.ppid == _KTHREADD_PID


def _tree_key(proc: ProcessRecord) -> str:
    # A process whose group could not be read stands alone rather than joining "group 0".
    pgrp = proc.pgrp if proc.pgrp > 0 else proc.pid
    return f"tree:{proc.uid}:{proc.session}:{pgrp}"


def _bucket_of(proc: ProcessRecord, own_pids: frozenset[int]) -> str:
    if proc.pid in own_pids:
        return SELF_GROUP_ID
    if proc.pid == 1:
        return INIT_GROUP_ID
    if _is_kernel(proc):
        return KERNEL_GROUP_ID
    unit = group_unit(proc.unit)
    if unit is not None:
        return f"unit:{unit}"
    return _tree_key(proc)


def _make_group(group_id: str, procs: list[ProcessRecord]) -> AppGroup:
    members = tuple(sorted(p.pid for p in procs))
    by_pid = {p.pid: p for p in procs}
    if group_id == KERNEL_GROUP_ID:
        leader = by_pid.get(_KTHREADD_PID) or _oldest(procs)
        return AppGroup(group_id, "kernel", "kernel", 0, leader.pid, members)
    if group_id == INIT_GROUP_ID:
        init = by_pid[1]
        return AppGroup(group_id, init.name, "init", init.uid, 1, members, init.unit)
    if group_id == SELF_GROUP_ID:
        leader = _oldest(procs)
        return AppGroup(group_id, "smoothdesk", "self", leader.uid, leader.pid, members)
    if group_id.startswith("unit:"):
        unit = group_id[len("unit:") :]
        leader = _oldest(procs)
        kind = "app" if unit.startswith(("app-", "snap.")) else "service"
        return AppGroup(group_id, unit_display_name(unit), kind, leader.uid, leader.pid, members, unit)
    pgrp = int(group_id.rsplit(":", 1)[1])
    leader = by_pid.get(pgrp) or _oldest(procs)
    return AppGroup(group_id, leader.name, "tree", leader.uid, leader.pid, members)


def group_processes(snapshot: Snapshot, own_pids: frozenset[int] = frozenset()) -> list[AppGroup]:
    """Partition the snapshot's processes into application groups, sorted by id.

    Ids are stable while an application lives: "unit:<unit>" for desktop app units and
    services, "tree:<uid>:<session>:<pgrp>" otherwise (the kernel cannot reuse a session or
    process-group id while it has members, and every shell job gets its own group), "kernel"
    for kernel threads, "init" for PID 1 and "self" for SmoothDesk's own processes.
    """
    buckets: dict[str, list[ProcessRecord]] = defaultdict(list)
    for proc in snapshot.processes.values():
        buckets[_bucket_of(proc, own_pids)].append(proc)
    return [_make_group(gid, buckets[gid]) for gid in sorted(buckets)]


def regroup_changed(
    groups: Mapping[str, AppGroup],
    snapshot: Snapshot,
    changed: Iterable[ProcessRecord],
    exited: Iterable[int] = (),
    own_pids: frozenset[int] = frozenset(),
) -> tuple[dict[str, AppGroup], set[str]]:
    """The groups that changed or exited processes touch, built as group_processes would build them.

    The fast path runs this per batch of exec events, and the tick whenever processes came, went
    or moved. A compile job execs hundreds of times a second, and regrouping every process each
    time made that cost grow with the whole process count; this rebuilds only the groups that
    changed processes join or leave (exec in a new scope, setsid) and those exited ones left.
    Returns the rebuilt groups and the ids of groups left empty; every other group is unchanged.
    """
    procs = snapshot.processes
    changed = list(changed)
    exited = [pid for pid in exited if pid not in procs]
    arriving: dict[str, set[int]] = defaultdict(set)
    for proc in changed:
        arriving[_bucket_of(proc, own_pids)].add(proc.pid)
    target = {pid: gid for gid, pids in arriving.items() for pid in pids}
    owner = {pid: g.id for g in groups.values() for pid in g.members}
    leaving: dict[str, set[int]] = defaultdict(set)
    for pid in (*target, *exited):
        old = owner.get(pid)
        if old is not None and old != target.get(pid):
            leaving[old].add(pid)
    rebuilt: dict[str, AppGroup] = {}
    emptied: set[str] = set()
    for gid in arriving.keys() | leaving.keys():
        old_group = groups.get(gid)
        members = {m for m in old_group.members if m in procs} if old_group is not None else set()
        members = (members | arriving.get(gid, set())) - leaving.get(gid, set())
        if members:
            rebuilt[gid] = _make_group(gid, [procs[m] for m in members])
        else:
            emptied.add(gid)
    return rebuilt, emptied
