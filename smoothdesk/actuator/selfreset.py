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

The order is what makes it fast: a demoted helper runs at a tiny share of the CPU (measured: ~2 s
from exec to main() and then 2-56 s to the end of the reset, with 8 demoted hogs beside it and
the machine busy, when this module still loaded the actuator package and ctypes first). So this
module imports the stdlib's os alone, the cgroup move and each thread's nice and policy come
first, with os calls only, and only then the ioprio syscall (ctypes) and the journal are loaded.

The autogroup nice is the whole session's: lowering it back here changes every process in the
session. It is reset only when the journal says SmoothDesk lowered it (to the journal's
original, which the crash recovery would restore a moment later anyway); a session its user
niced stays as it is, and the helper says so.
"""

from __future__ import annotations

import os
from pathlib import Path

from smoothdesk.actuator.prefix import read_prefix

# sched.h and ioprio.h values, here so that the first steps need no other module of ours.
_SCHED_OTHER, _SCHED_BATCH, _SCHED_IDLE = 0, 3, 5
_RESET_ON_FORK = 0x40000000
_IOPRIO_CLASS_BE, _IOPRIO_CLASS_IDLE, _IOPRIO_SHIFT = 2, 3, 13


class CleanStart:
    """What the helper found on itself and changed; what it could not change, and why."""

    __slots__ = ("changed", "kept")

    def __init__(self) -> None:
        self.changed: list[str] = []
        self.kept: list[str] = []


def start_clean(
    run_dir: Path | None, *, proc_root: Path = Path("/proc"), autogroup: bool = True
) -> CleanStart:
    """Reset the calling process (all its threads); `autogroup=False` leaves the session alone
    whatever the journal says (a dry run changes nothing outside the helper)."""
    return finish_clean(cpu_clean(proc_root), run_dir, proc_root=proc_root, autogroup=autogroup)


def cpu_clean(proc_root: Path = Path("/proc")) -> CleanStart:
    """The first step, with os calls alone: out of our cgroups, each thread's nice and policy."""
    out = CleanStart()
    me = proc_root / "self"
    _leave_our_cgroups(me, out)
    for tid in _tids(me):
        _cpu_neutral(tid, out)
    return out


def finish_clean(
    out: CleanStart, run_dir: Path | None, *, proc_root: Path = Path("/proc"), autogroup: bool = True
) -> CleanStart:
    """The rest, once the CPU share is back: each thread's IO priority, then the autogroup."""
    me = proc_root / "self"
    for tid in _tids(me):
        _io_neutral(tid, out)
    if autogroup:
        _our_autogroup(me, run_dir, out)
    return out


def _tids(me: Path) -> list[int]:
    return sorted(int(t) for t in os.listdir(me / "task"))  # noqa: PTH208


def cgroup_mounts(me: Path) -> list[tuple[str, str, set[str]]]:
    """(mount point, fs type, super options) of every cgroup hierarchy mounted at its root."""
    found = []
    for line in (me / "mountinfo").read_text().splitlines():
        pre, _, post = line.partition(" - ")
        fields, tail = pre.split(), post.split()
        if len(fields) >= 5 and len(tail) >= 3 and fields[3] == "/" and tail[0] in ("cgroup", "cgroup2"):
            found.append((fields[4], tail[0], set(tail[2].split(","))))
    return found


def _leave_our_cgroups(me: Path, out: CleanStart) -> None:
    try:
        prefix = f"/{read_prefix()}"
        lines = (me / "cgroup").read_text().splitlines()
        mounts = cgroup_mounts(me)
    except (OSError, ValueError) as exc:
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


def _cpu_neutral(tid: int, out: CleanStart) -> None:
    """A positive nice to 0, then SCHED_IDLE/BATCH to SCHED_OTHER (keeping reset-on-fork); a
    boost (negative nice, a real-time class) is an operator's, and kept."""
    try:
        nice = os.getpriority(os.PRIO_PROCESS, tid)
        policy = os.sched_getscheduler(tid)
    except OSError:
        return  # the thread ended
    # nice first: leaving SCHED_IDLE is checked against the nice at that moment.
    if nice > 0:
        try:
            os.setpriority(os.PRIO_PROCESS, tid, 0)
            out.changed.append(f"thread {tid} nice {nice} -> 0")
        except OSError as exc:
            out.kept.append(f"thread {tid} nice {nice}: {exc.strerror}")
    if policy & ~_RESET_ON_FORK in (_SCHED_BATCH, _SCHED_IDLE):
        neutral = _SCHED_OTHER | (policy & _RESET_ON_FORK)
        try:
            os.sched_setscheduler(tid, neutral, os.sched_param(0))
            out.changed.append(f"thread {tid} policy {policy} -> {neutral}")
        except OSError as exc:
            out.kept.append(f"thread {tid} policy {policy}: {exc.strerror}")


def _io_neutral(tid: int, out: CleanStart) -> None:
    """An idle or low best-effort IO priority (level > 4) to class none (derived from nice)."""
    from smoothdesk.actuator import syscalls as sc

    try:
        value = sc.get_ioprio(tid)
    except OSError:
        return
    klass, level = value >> _IOPRIO_SHIFT, value & ((1 << _IOPRIO_SHIFT) - 1)
    if not (klass == _IOPRIO_CLASS_IDLE or (klass == _IOPRIO_CLASS_BE and level > 4)):
        return
    try:
        sc.set_ioprio(tid, 0)
        out.changed.append(f"thread {tid} ioprio {value} -> 0")
    except OSError as exc:
        out.kept.append(f"thread {tid} ioprio {value}: {exc.strerror}")


def _our_autogroup(me: Path, run_dir: Path | None, out: CleanStart) -> None:
    import contextlib

    from smoothdesk.actuator import syscalls as sc
    from smoothdesk.actuator.errors import ActuatorError
    from smoothdesk.actuator.journal import Journal

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
