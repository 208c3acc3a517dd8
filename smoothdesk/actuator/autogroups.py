"""The autogroup lever: one nice for a whole session, set only when the whole session is demoted.

With sched_autogroup_enabled=1 nice only ranks threads inside one autogroup, so a hog in another
session keeps an equal share whatever its nice; /proc/PID/autogroup sets the session's weight.
Because that affects every process of the session, an autogroup is lowered only when every live
process the snapshot shows in it is being demoted (and its nice is the mildest of their classes).
"""

from __future__ import annotations

import errno
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from smoothdesk.actuator.journal import AutogroupEntry
from smoothdesk.actuator.levers import LeverSet
from smoothdesk.actuator.syscalls import read_autogroup, write_autogroup_nice
from smoothdesk.actuator.tally import Tally
from smoothdesk.core import ProcessRecord


@dataclass(frozen=True, slots=True)
class AutogroupPlan:
    agid: int
    member: ProcessRecord
    current: int | None
    original: int
    target: int


def plan_autogroups(
    wanted: Mapping[int, LeverSet],
    processes: Mapping[int, ProcessRecord],
    journaled: Mapping[int, AutogroupEntry],
    proc_root: Path,
) -> tuple[list[AutogroupPlan], list[int]]:
    """(autogroups to lower or keep lowered, journaled autogroups to give back).

    `processes` must be the whole process table: a session member missing from it would be
    demoted along with the session without anyone having decided so.
    """
    # Only autogroups holding a demoted process can be lowered: a desktop's big session autogroup
    # of sleeping processes is not walked member by member every tick.
    open_: set[int] = set()
    closed: set[int] = set()  # a wanted member asks for no autogroup nice: left as it is
    for pid, levers in wanted.items():
        rec = processes.get(pid)
        if rec is not None and rec.autogroup is not None and rec.autogroup > 0:
            (closed if levers.autogroup_nice is None else open_).add(rec.autogroup)
    open_ -= closed
    members: dict[int, list[ProcessRecord]] = {}
    for rec in processes.values():
        agid = rec.autogroup
        if agid not in open_:
            continue
        asks = wanted.get(rec.pid)
        if asks is None or asks.autogroup_nice is None:
            # One member asks for no autogroup nice: this autogroup stays as it is. A desktop
            # session's autogroup meets such a member at once, so the walk usually ends early.
            open_.discard(agid)
            members.pop(agid, None)
            if not open_:
                break
            continue
        members.setdefault(agid, []).append(rec)
    plans: list[AutogroupPlan] = []
    for agid, recs in members.items():
        desired = _lowest_wanted(recs, wanted)
        if desired is None:
            continue
        member = recs[0]
        entry = journaled.get(agid)
        current = member.autogroup_nice
        if current is None:
            current = _read_nice(member.pid, agid, proc_root)
        original = entry.nice if entry is not None else current
        if original is None:
            continue  # the member left the autogroup meanwhile
        plans.append(AutogroupPlan(agid, member, current, original, max(original, desired)))
    keep = {p.agid for p in plans}
    return plans, [agid for agid in journaled if agid not in keep]


def _lowest_wanted(recs: list[ProcessRecord], wanted: Mapping[int, LeverSet]) -> int | None:
    """The autogroup nice every member asks for at least, or None when one member asks for none."""
    desired: int | None = None
    for r in recs:
        levers = wanted.get(r.pid)
        if levers is None or levers.autogroup_nice is None:
            return None
        desired = levers.autogroup_nice if desired is None else min(desired, levers.autogroup_nice)
    return desired


def _read_nice(pid: int, agid: int, proc_root: Path) -> int | None:
    try:
        found = read_autogroup(pid, proc_root)
    except (ProcessLookupError, PermissionError):
        return None
    return found[1] if found is not None and found[0] == agid else None


def find_member(agid: int, candidates: Iterable[int], proc_root: Path) -> int | None:
    """A live pid that really is in autogroup `agid` now (a reused pid would show another id)."""
    for pid in candidates:
        try:
            found = read_autogroup(pid, proc_root)
        except (ProcessLookupError, PermissionError):
            continue
        if found is not None and found[0] == agid:
            return pid
    return None


def scan_members(agid: int, proc_root: Path) -> int | None:
    """Last resort for recovery: walk /proc for any process still in the autogroup."""
    try:
        names = [p.name for p in proc_root.iterdir() if p.name.isdigit()]
    except OSError:
        return None
    return find_member(agid, (int(n) for n in names), proc_root)


def write_nice(pid: int, nice: int, proc_root: Path, *, retries: int = 0) -> None:
    """Write an autogroup nice; unprivileged writers are rate-limited (EAGAIN, 1 per 100 ms)."""
    for attempt in range(retries + 1):
        try:
            write_autogroup_nice(pid, nice, proc_root)
            return
        except BlockingIOError:
            if attempt == retries:
                raise
            time.sleep(0.11)
        except OSError as exc:
            if exc.errno != errno.EAGAIN or attempt == retries:
                raise
            time.sleep(0.11)


def claim(
    plan: AutogroupPlan, journaled: dict[int, AutogroupEntry], done: Mapping[int, int], tally: Tally
) -> bool:
    """Journal the autogroup's original (first time) and say whether `run` has work to do."""
    subject = f"autogroup:{plan.agid}"
    if done.get(plan.agid) == plan.target and plan.agid in journaled:
        tally.mark(subject, "skipped")
        return False
    if plan.agid not in journaled:
        if plan.target == plan.original:
            tally.mark(subject, "skipped")
            return False
        journaled[plan.agid] = AutogroupEntry(plan.agid, plan.original, plan.target, plan.member.key)
    journaled[plan.agid].set = plan.target
    return True


def run(plan: AutogroupPlan, tally: Tally, done: dict[int, int], proc_root: Path) -> None:
    """Write the planned nice through the member, if it is still in that autogroup."""
    subject = f"autogroup:{plan.agid}"
    if tally.dry_run:
        tally.action(
            f"autogroup {plan.agid} (via pid {plan.member.pid}): nice {plan.current} -> {plan.target}"
        )
        tally.mark(subject, "changed")
        return
    try:
        found = read_autogroup(plan.member.pid, proc_root)
        if found is None or found[0] != plan.agid:
            tally.mark(subject, "esrch")  # the member left or its pid was reused
            return
        if found[1] != plan.target:
            write_nice(plan.member.pid, plan.target, proc_root)
            tally.mark(subject, "changed")
        else:
            tally.mark(subject, "skipped")
        done[plan.agid] = plan.target
    except BlockingIOError:
        tally.mark(subject, "deferred")
    except OSError as exc:
        tally.error(subject, exc)
