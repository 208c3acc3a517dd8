"""Per-thread scheduling syscalls and the /proc reads they need: nice, policy, ioprio, slice, timer
slack, autogroup."""

from __future__ import annotations

import ctypes
import errno
import os
import platform
from pathlib import Path
from typing import NamedTuple

from smoothdesk.actuator.slices import read_slice

IOPRIO_CLASS_NONE = 0
IOPRIO_CLASS_RT = 1
IOPRIO_CLASS_BE = 2
IOPRIO_CLASS_IDLE = 3
IOPRIO_WHO_PROCESS = 1
_IOPRIO_CLASS_SHIFT = 13
# sched_getscheduler() ORs this flag into the policy; it must survive our round trip.
SCHED_RESET_ON_FORK = 0x40000000

# (ioprio_set, ioprio_get) syscall numbers; glibc has no wrappers for them.
_IOPRIO_NR = {
    "x86_64": (251, 252),
    "aarch64": (30, 31),
    "riscv64": (30, 31),
    "i686": (289, 290),
    "armv7l": (314, 315),
    "ppc64le": (273, 274),
}

_libc = ctypes.CDLL(None, use_errno=True)


class ThreadState(NamedTuple):
    """What we may change on one thread: nice, raw policy (with flags), raw ioprio value, the
    EEVDF custom slice in ns (0: none; a journal from before slices reads as 0), and the timer
    slack in ns (0: not known, as in a journal from before it or where we may not read it)."""

    nice: int
    policy: int
    ioprio: int
    slice_ns: int = 0
    slack_ns: int = 0


def ioprio_value(klass: int, level: int) -> int:
    """The kernel's ioprio encoding: class in the top 3 bits of 16, level below."""
    return (klass << _IOPRIO_CLASS_SHIFT) | level


def ioprio_split(value: int) -> tuple[int, int]:
    """(class, level) from a raw ioprio value."""
    return value >> _IOPRIO_CLASS_SHIFT, value & ((1 << _IOPRIO_CLASS_SHIFT) - 1)


def _ioprio_nr() -> tuple[int, int]:
    try:
        return _IOPRIO_NR[platform.machine()]
    except KeyError:
        raise OSError(errno.ENOSYS, f"ioprio syscalls unknown on {platform.machine()}") from None


def get_ioprio(tid: int) -> int:
    """The thread's raw ioprio (class NONE means derived from nice)."""
    ctypes.set_errno(0)
    value = int(_libc.syscall(_ioprio_nr()[1], IOPRIO_WHO_PROCESS, tid))
    if value < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return value


def set_ioprio(tid: int, value: int) -> None:
    """ioprio_set for one thread (IOPRIO_WHO_PROCESS with a tid addresses a single thread)."""
    if int(_libc.syscall(_ioprio_nr()[0], IOPRIO_WHO_PROCESS, tid, value)) < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def get_nice(tid: int) -> int:
    """Linux keeps nice per thread; PRIO_PROCESS with a tid reads just that thread."""
    return os.getpriority(os.PRIO_PROCESS, tid)


def set_nice(tid: int, nice: int) -> None:
    os.setpriority(os.PRIO_PROCESS, tid, nice)


def get_policy(tid: int) -> int:
    """The raw policy including SCHED_RESET_ON_FORK."""
    return os.sched_getscheduler(tid)


def set_policy(tid: int, policy: int) -> None:
    """Set a non-realtime policy (priority 0); nice is kept by the kernel."""
    os.sched_setscheduler(tid, policy, os.sched_param(0))


def read_slack(tid: int) -> int:
    """The thread's timer slack in ns (/proc/TID/timerslack_ns addresses one thread), 0 where it
    cannot be read: other users' threads without CAP_SYS_NICE, kernels before 4.6.

    Raises ProcessLookupError when the thread is gone.
    """
    try:
        with open(f"/proc/{tid}/timerslack_ns", "rb") as f:
            return int(f.read())
    except FileNotFoundError:
        if not os.path.exists(f"/proc/{tid}"):  # noqa: PTH110 - hot path, no Path objects
            raise ProcessLookupError(errno.ESRCH, f"no thread {tid}") from None
        return 0
    except (PermissionError, ValueError):
        return 0


def set_slack(tid: int, slack_ns: int) -> None:
    """Set one thread's timer slack (0 would mean: back to the default it inherited)."""
    if slack_ns <= 0:
        raise OSError(errno.EINVAL, f"timer slack {slack_ns} ns: only a positive slack is ours to set")
    try:
        with open(f"/proc/{tid}/timerslack_ns", "wb") as f:
            f.write(b"%d" % slack_ns)
    except FileNotFoundError:
        raise ProcessLookupError(errno.ESRCH, f"no thread {tid}") from None


def read_thread(tid: int) -> ThreadState:
    return ThreadState(get_nice(tid), get_policy(tid), get_ioprio(tid), read_slice(tid), read_slack(tid))


def list_tids(pid: int, proc_root: Path) -> list[int]:
    """Thread ids of a process; ProcessLookupError when it is gone."""
    try:
        names = os.listdir(f"{proc_root}/{pid}/task")  # noqa: PTH208 - hot path, no Path objects
    except (FileNotFoundError, NotADirectoryError):
        raise ProcessLookupError(errno.ESRCH, f"no process {pid}") from None
    return sorted(int(n) for n in names if n.isdigit())


def _stat_fields(path: Path) -> list[str]:
    """Fields 3.. of a stat file (the comm in field 2 may hold spaces and parentheses)."""
    try:
        data = path.read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        raise ProcessLookupError(errno.ESRCH, f"{path} is gone") from None
    return data[data.rindex(b")") + 2 :].decode().split()


def read_start_time(pid: int, proc_root: Path, tid: int | None = None) -> int:
    """Field 22 of /proc/PID/stat (or of one thread's stat): start time in clock ticks."""
    base = proc_root / str(pid)
    path = base / "task" / str(tid) / "stat" if tid is not None else base / "stat"
    return int(_stat_fields(path)[19])


def read_session(pid: int, proc_root: Path) -> int:
    """Field 6 of /proc/PID/stat: the process's session id."""
    return int(_stat_fields(proc_root / str(pid) / "stat")[3])


def read_stat_policy(pid: int, tid: int, proc_root: Path) -> int:
    """Field 41 of /proc/PID/task/TID/stat: the thread's scheduling policy."""
    return int(_stat_fields(proc_root / str(pid) / "task" / str(tid) / "stat")[38])


def read_autogroup(pid: int, proc_root: Path) -> tuple[int, int] | None:
    """(autogroup id, nice) from "/autogroup-ID nice N"; None for the root group or no autogroup."""
    try:
        text = (proc_root / str(pid) / "autogroup").read_text()
    except (FileNotFoundError, ProcessLookupError):
        raise ProcessLookupError(errno.ESRCH, f"no process {pid}") from None
    parts = text.split()
    if len(parts) != 3 or not parts[0].startswith("/autogroup-"):
        return None
    return int(parts[0].removeprefix("/autogroup-")), int(parts[2])


def write_autogroup_nice(pid: int, nice: int, proc_root: Path) -> None:
    """Set the nice of the whole autogroup (session) that PID belongs to."""
    path = proc_root / str(pid) / "autogroup"
    try:
        fd = os.open(path, os.O_WRONLY)
    except FileNotFoundError:
        raise ProcessLookupError(errno.ESRCH, f"no process {pid}") from None
    try:
        os.write(fd, str(nice).encode())
    finally:
        os.close(fd)


def errno_kind(exc: OSError) -> str:
    """Map an OSError to the report counter it belongs to: "esrch", "eperm" or "other"."""
    if exc.errno in (errno.ESRCH, errno.ENOENT):
        return "esrch"
    if exc.errno in (errno.EPERM, errno.EACCES):
        return "eperm"
    return "other"
