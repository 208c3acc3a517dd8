"""The helper's first act: its own nice, policy, ioprio, cgroup and autogroup back to neutral.

A helper started from a process SmoothDesk demoted (a shell inside a demoted build, a restart
after a crash from such a process) is born with that demotion: nice 19 and best-effort 7 in our
cpu.idle group. There it ran its whole start-up behind the load (6-8 s with 8 hogs, stuck in
Thread.start), and every thread it started inherited the demotion. So before anything else it
leaves our cgroups for the hierarchy's root (the helper's own cgroup is never one of ours
otherwise: systemd's backend moves nothing), and takes each of its threads from a positive nice
to 0, from SCHED_IDLE or SCHED_BATCH to SCHED_OTHER and from a low IO priority to class none.
A boost (negative nice, real-time) is left as it is: it is an operator's choice (a unit's Nice=),
and no demotion of ours ever raised anything.

The autogroup nice is the whole session's: lowering it back here changes every process in the
session. It is reset only when the journal says SmoothDesk lowered it (to the journal's
original, which the crash recovery would restore a moment later anyway); a session its user
niced stays as it is, and the helper says so.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from smoothdesk.actuator import syscalls as sc
from smoothdesk.actuator.cgroup_fs import default_prefix
from smoothdesk.actuator.errors import ActuatorError
from smoothdesk.actuator.journal import Journal
from smoothdesk.core.process import SCHED_BATCH, SCHED_IDLE, SCHED_OTHER


@dataclass(slots=True)
class CleanStart:
    """What the helper found on itself and changed; what it could not change, and why."""

    changed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def start_clean(
    run_dir: Path | None, *, proc_root: Path = Path("/proc"), autogroup: bool = True
) -> CleanStart:
    """Reset the calling process (all its threads); `autogroup=False` leaves the session alone
    whatever the journal says (a dry run changes nothing outside the helper)."""
    out = CleanStart()
    me = proc_root / "self"
    _leave_our_cgroups(me, proc_root, out)
    for tid in sorted(int(t) for t in os.listdir(me / "task")):  # noqa: PTH208
        _neutral_thread(tid, out)
    if autogroup:
        _our_autogroup(me, run_dir, out)
    return out


def _mounts(me: Path) -> list[tuple[str, str, set[str]]]:
    """(mount point, fs type, super options) of every cgroup hierarchy mounted at its root."""
    found = []
    for line in (me / "mountinfo").read_text().splitlines():
        pre, _, post = line.partition(" - ")
        fields, tail = pre.split(), post.split()
        if len(fields) >= 5 and len(tail) >= 3 and fields[3] == "/" and tail[0] in ("cgroup", "cgroup2"):
            found.append((fields[4], tail[0], set(tail[2].split(","))))
    return found


def _leave_our_cgroups(me: Path, proc_root: Path, out: CleanStart) -> None:
    try:
        prefix = f"/{default_prefix()}"
        lines = (me / "cgroup").read_text().splitlines()
        mounts = _mounts(me)
    except (OSError, ActuatorError) as exc:
        out.kept.append(f"cgroup: {exc}")
        return
    for line in lines:
        hid, controllers, path = line.split(":", 2)
        if path != prefix and not path.startswith(prefix + "/"):
            continue
        wanted = set(controllers.split(",")) if hid != "0" else set()
        root = next(
            (m for m, fs, opts in mounts if (fs == "cgroup2") == (hid == "0") and wanted <= opts), None
        )
        if root is None:
            out.kept.append(f"cgroup {path}: its hierarchy is not mounted here")
            continue
        try:
            # The whole process moves (cgroup.procs), threads and all.
            Path(root, "cgroup.procs").write_text(str(os.getpid()))
            out.changed.append(f"cgroup {path} -> /")
        except OSError as exc:
            out.kept.append(f"cgroup {path}: {exc.strerror}")


def _demoted(name: str, value: int) -> bool:
    """Below neutral? A boost (negative nice, a real-time class) is an operator's, and kept."""
    if name == "nice":
        return value > 0
    if name == "policy":
        return value & ~sc.SCHED_RESET_ON_FORK in (SCHED_BATCH, SCHED_IDLE)
    klass, level = sc.ioprio_split(value)
    return klass == sc.IOPRIO_CLASS_IDLE or (klass == sc.IOPRIO_CLASS_BE and level > 4)


def _neutral_thread(tid: int, out: CleanStart) -> None:
    try:
        state = sc.read_thread(tid)
    except OSError:
        return  # the thread ended
    # nice first: leaving SCHED_IDLE is checked against the nice at that moment.
    steps = (
        ("nice", state.nice, 0, sc.set_nice),
        ("policy", state.policy, SCHED_OTHER, sc.set_policy),
        ("ioprio", state.ioprio, 0, sc.set_ioprio),
    )
    for name, have, neutral, setter in steps:
        if not _demoted(name, have):
            continue
        try:
            setter(tid, neutral)
            out.changed.append(f"thread {tid} {name} {have} -> {neutral}")
        except OSError as exc:
            out.kept.append(f"thread {tid} {name} {have}: {exc.strerror}")


def _our_autogroup(me: Path, run_dir: Path | None, out: CleanStart) -> None:
    try:
        found = sc.read_autogroup(os.getpid(), me.parent)
    except OSError:
        return
    if found is None or found[1] == 0:
        return
    agid, nice = found
    entry = None
    if run_dir is not None:
        with contextlib.suppress(ActuatorError):
            entry = Journal(run_dir).load().autogroups.get(agid)
    if entry is None or entry.set != nice or entry.nice == nice:
        out.kept.append(f"autogroup {agid} nice {nice}: not set by SmoothDesk, the session's own")
        return
    try:
        sc.write_autogroup_nice(os.getpid(), entry.nice, me.parent)
        out.changed.append(f"autogroup {agid} nice {nice} -> {entry.nice} (journaled)")
    except OSError as exc:
        out.kept.append(f"autogroup {agid} nice {nice}: {exc.strerror}")
