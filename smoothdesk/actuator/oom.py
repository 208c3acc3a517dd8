"""oom_score_adj reads and writes, and SIGKILL through a pidfd, each bound to pid + start time.

Every call first opens /proc/PID as a directory: that fd stays bound to the process it named
(a reused PID gives ESRCH through it), so checking the start time through it and then writing
through it cannot hit a newcomer. A kill goes through a pidfd opened before the start time is
checked, for the same reason.
"""

from __future__ import annotations

import errno
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from smoothdesk.core import ProcKey

OOM_MIN = -1000
OOM_MAX = 1000


def _start_time(dir_fd: int) -> int:
    try:
        fd = os.open("stat", os.O_RDONLY | os.O_CLOEXEC, dir_fd=dir_fd)
    except FileNotFoundError:
        raise ProcessLookupError(errno.ESRCH, "process is gone") from None
    try:
        data = os.read(fd, 4096)
    finally:
        os.close(fd)
    if not data:
        raise ProcessLookupError(errno.ESRCH, "process is gone")
    return int(data[data.rindex(b")") + 2 :].split()[19])


@contextmanager
def process_dir(key: ProcKey, proc_root: Path) -> Iterator[int]:
    """A directory fd of /proc/PID, once its start time matched `key` (else ProcessLookupError)."""
    try:
        dir_fd = os.open(proc_root / str(key.pid), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError):
        raise ProcessLookupError(errno.ESRCH, f"no process {key.pid}") from None
    try:
        if _start_time(dir_fd) != key.start_time:
            raise ProcessLookupError(errno.ESRCH, f"pid {key.pid} now belongs to another process")
        yield dir_fd
    finally:
        os.close(dir_fd)


def read_oom_score_adj(key: ProcKey, proc_root: Path) -> int:
    with process_dir(key, proc_root) as dir_fd:
        fd = os.open("oom_score_adj", os.O_RDONLY | os.O_CLOEXEC, dir_fd=dir_fd)
        try:
            return int(os.read(fd, 64))
        finally:
            os.close(fd)


def write_oom_score_adj(key: ProcKey, value: int, proc_root: Path) -> None:
    """Set it; going below the process's floor needs CAP_SYS_RESOURCE (PermissionError otherwise)."""
    if not OOM_MIN <= value <= OOM_MAX:
        raise ValueError(f"oom_score_adj {value} outside {OOM_MIN}..{OOM_MAX}")
    with process_dir(key, proc_root) as dir_fd:
        fd = os.open("oom_score_adj", os.O_WRONLY | os.O_CLOEXEC, dir_fd=dir_fd)
        try:
            os.write(fd, str(value).encode())
        finally:
            os.close(fd)


def kill_verified(key: ProcKey, proc_root: Path) -> None:
    """SIGKILL the process `key` names, never one that reused its pid (ProcessLookupError then)."""
    try:
        pidfd = os.pidfd_open(key.pid)
    except ProcessLookupError:
        raise ProcessLookupError(errno.ESRCH, f"no process {key.pid}") from None
    try:
        with process_dir(key, proc_root):
            pass  # the pidfd was opened first, so the process checked here is the one it holds
        signal.pidfd_send_signal(pidfd, signal.SIGKILL)
    finally:
        os.close(pidfd)
