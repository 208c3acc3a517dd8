"""Classes per process inside a group: a marked process and the subtree it started get its class.

A rule or the noisy heuristic marks processes, never a whole group: the build an editor runs
is demoted, the editor is not. Each member takes the mark of its nearest marked ancestor inside
the group (itself included); members with none take the group's base class. The focused and
audio processes and their ancestors are never demoted.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from smoothdesk.core import AppGroup, Classification, MemberClass, PriorityClass, ProcessRecord, Reason


@dataclass(frozen=True, slots=True)
class Mark:
    """Why one process (and what it starts) gets a class."""

    klass: PriorityClass
    label: str
    reason: Reason


def describe(proc: ProcessRecord | None, c: Classification) -> str:
    name = proc.name if proc is not None else "?"
    return f"{name} → {c.type} → {c.klass} ({c.source or c.rule})"


def rule_marks(
    group: AppGroup,
    processes: Mapping[int, ProcessRecord],
    classifications: Mapping[int, Classification],
) -> dict[int, Mark]:
    """A mark for every classified member, from its own rule."""
    marks: dict[int, Mark] = {}
    for pid in group.members:
        c = classifications.get(pid)
        if c is not None:
            marks[pid] = Mark(c.klass, c.type or "process", Reason("rule", describe(processes.get(pid), c)))
    return marks


def _parent_in_group(
    proc: ProcessRecord, processes: Mapping[int, ProcessRecord], members: Collection[int]
) -> ProcessRecord | None:
    parent = processes.get(proc.ppid)
    # A parent that started after the child is a reused pid, not the parent.
    if parent is None or parent.pid not in members or parent.start_time > proc.start_time:
        return None
    return parent


def ancestors(
    pids: Iterable[int], processes: Mapping[int, ProcessRecord], members: Collection[int]
) -> set[int]:
    """The given members and every ancestor of theirs inside the group."""
    out: set[int] = set()
    for pid in pids:
        proc = processes.get(pid)
        while proc is not None and proc.pid in members and proc.pid not in out:
            out.add(proc.pid)
            proc = _parent_in_group(proc, processes, members)
    return out


def spread(
    group: AppGroup,
    processes: Mapping[int, ProcessRecord],
    marks: Mapping[int, Mark],
    base: PriorityClass,
    protected: Collection[int] = (),
) -> tuple[PriorityClass, tuple[MemberClass, ...]]:
    """The app's class and the members whose class differs from it.

    The app's class is its leader's; a protected member that a mark would demote keeps `base`.
    """
    if not marks:  # most groups: nothing picked, so every member has the base class
        return base, ()
    members = set(group.members)
    found: dict[int, tuple[int, Mark] | None] = {}

    def nearest(pid: int) -> tuple[int, Mark] | None:
        chain: list[int] = []
        result: tuple[int, Mark] | None = None
        proc = processes.get(pid)
        # A table read while pids are reused can hold a ppid cycle of equal start times.
        while proc is not None and proc.pid not in chain:
            if proc.pid in found:
                result = found[proc.pid]
                break
            chain.append(proc.pid)
            if proc.pid in marks:
                result = (proc.pid, marks[proc.pid])
                break
            proc = _parent_in_group(proc, processes, members)
        for p in chain:
            found[p] = result
        return result

    classes: dict[int, tuple[PriorityClass, tuple[int, Mark] | None, bool]] = {}
    for pid in group.members:
        hit = nearest(pid)
        klass = base if hit is None else hit[1].klass
        kept = pid in protected and klass.demoted and not base.demoted
        classes[pid] = (base, None, True) if kept else (klass, hit, False)
    app = classes[group.leader][0] if group.leader in classes else base
    out = []
    for pid, (klass, hit, kept) in classes.items():
        if klass is app:
            continue
        if hit is None:
            why = "the focused or audio process, or an ancestor of it" if kept else "not marked"
            out.append(
                MemberClass(
                    pid,
                    klass,
                    "protected process" if kept else "process",
                    Reason("focus" if kept else "default", why),
                )
            )
            continue
        source, mark = hit
        reason = mark.reason
        if source != pid:
            parent = processes.get(source)
            started = f"started by {source} ({parent.name if parent else '?'})"
            reason = Reason(mark.reason.stage, f"{started}: {mark.reason.detail}")
        out.append(MemberClass(pid, klass, mark.label, reason))
    return app, tuple(sorted(out, key=lambda m: m.pid))


def load_members(
    group: AppGroup,
    processes: Mapping[int, ProcessRecord],
    skip: Collection[int],
    *,
    floor_percent: float = 10.0,
    cover: float = 0.8,
) -> list[int]:
    """The members that are a noisy group's load, busiest first.

    Every member using at least `floor_percent` of a core, then more in order of use until they
    account for `cover` of the group's CPU, so a load spread over many small processes is found
    too. Members in `skip` (exempt, protected or already demoted by a rule) are never picked.
    """
    used = []
    for pid in group.members:
        proc = processes.get(pid)
        if proc is not None and pid not in skip:
            used.append((max(proc.cpu_10s, proc.cpu_tick), pid))
    used.sort(reverse=True)
    total = sum(u for u, _ in used)
    picked: list[int] = []
    covered = 0.0
    for cpu, pid in used:
        if cpu <= 0.0 or (cpu < floor_percent and covered >= cover * total):
            break
        picked.append(pid)
        covered += cpu
    return picked


def summary_reason(members: tuple[MemberClass, ...]) -> Reason | None:
    """One line of the reason chain that says which members got which class, and why."""
    if not members:
        return None
    by: dict[tuple[str, PriorityClass], list[MemberClass]] = {}
    for m in members:
        by.setdefault((m.label, m.klass), []).append(m)
    parts = []
    for (label, klass), ms in sorted(by.items(), key=lambda kv: (kv[0][1].rank, kv[0][0])):
        pids = ", ".join(str(m.pid) for m in ms[:5]) + (", …" if len(ms) > 5 else "")
        parts.append(f"{len(ms)} {label} {klass.value} ({pids}; {ms[0].reason.detail})")
    return Reason("members", "; ".join(parts))
