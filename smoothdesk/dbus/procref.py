"""Addressing a process so that a reused PID cannot be hit: pid plus start time, or a pidfd."""

from __future__ import annotations

from pathlib import Path

from smoothdesk.dbus import errors

MAX_PID = 1 << 22
GONE = "no such process (or it was replaced)"


def proc_identity(pid: int, proc: Path = Path("/proc")) -> tuple[int, int] | None:
    """(start time in clock ticks, real uid) of a live process, or None."""
    try:
        stat = (proc / str(pid) / "stat").read_text(encoding="utf-8", errors="replace")
        status = (proc / str(pid) / "status").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    uid_line = next((x for x in status.splitlines() if x.startswith("Uid:")), "")
    try:
        return int(fields[19]), int(uid_line.split()[1])  # field 22 of stat; real uid
    except (IndexError, ValueError):
        return None


def start_time(pid: int, proc: Path = Path("/proc")) -> int | None:
    """Field 22 of /proc/PID/stat (clock ticks since boot), or None when there is no such process."""
    found = proc_identity(pid, proc)
    return found[0] if found else None


def owner_of(pid: int, start: int, caller_uid: int, argument: str = "pid", proc: Path = Path("/proc")) -> int:
    """The real uid of the process `pid` started at `start`; the caller must own it (root: any).

    Raises InvalidArgument(argument) when the process is gone or its start time differs (the PID
    was reused), AccessDenied when it belongs to another uid.
    """
    if not 0 < pid < MAX_PID:
        raise errors.InvalidArgument(argument, "not a valid process id")
    found = proc_identity(pid, proc)
    if found is None or found[0] != start:
        raise errors.InvalidArgument(argument, GONE)
    # Read twice: if the PID was reused between the reads, the start time would differ.
    again = proc_identity(pid, proc)
    if again != found:
        raise errors.InvalidArgument(argument, GONE)
    uid = found[1]
    if caller_uid != 0 and uid != caller_uid:
        raise errors.AccessDenied(f"process {pid} belongs to uid {uid}, not to you")
    return uid


def pidfd_pid(fd: int) -> int:
    """The pid a pidfd refers to (from /proc/self/fdinfo); InvalidArgument('pidfd') otherwise."""
    try:
        target = str(Path(f"/proc/self/fd/{fd}").readlink())
        info = Path(f"/proc/self/fdinfo/{fd}").read_text(encoding="utf-8")
    except OSError:
        raise errors.InvalidArgument("pidfd", "not an open file descriptor") from None
    if target != "anon_inode:[pidfd]":
        raise errors.InvalidArgument("pidfd", "not a pidfd (use pidfd_open)")
    line = next((x for x in info.splitlines() if x.startswith("Pid:")), "")
    try:
        pid = int(line.split()[1])
    except (IndexError, ValueError):
        raise errors.InvalidArgument("pidfd", "the kernel does not tell its pid") from None
    if pid <= 0:
        raise errors.InvalidArgument("pidfd", "the process has exited")
    return pid


def pidfd_owner(fd: int, caller_uid: int) -> tuple[int, int]:
    """(pid, start time) of the live process behind a pidfd, which the caller must own; checked
    race-free: while the pidfd still names the pid afterwards, the pid cannot have been reused."""
    pid = pidfd_pid(fd)
    start = start_time(pid)
    if start is None:
        raise errors.InvalidArgument("pidfd", "the process has exited")
    owner_of(pid, start, caller_uid, "pidfd")
    if pidfd_pid(fd) != pid:
        raise errors.InvalidArgument("pidfd", "the process has exited")
    return pid, start
