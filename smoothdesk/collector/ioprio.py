"""ioprio_get(2) through ctypes, since Python's os module has no binding for it."""

from __future__ import annotations

import ctypes
import platform

IOPRIO_WHO_PROCESS = 1
IOPRIO_CLASS_SHIFT = 13
IOPRIO_CLASS_NONE = 0
IOPRIO_CLASS_RT = 1
IOPRIO_CLASS_BE = 2
IOPRIO_CLASS_IDLE = 3

# glibc has no ioprio_get wrapper; these are the syscall numbers per architecture.
_SYSCALL_NR = {
    "x86_64": 252,
    "i386": 290,
    "i686": 290,
    "aarch64": 31,
    "riscv64": 31,
    "ppc64le": 274,
    "s390x": 283,
}

_NR = _SYSCALL_NR.get(platform.machine())
_libc: ctypes.CDLL | None = None


def ioprio_get(pid: int) -> int | None:
    """The raw ioprio value (class << 13 | data) of a process, or None if it cannot be read."""
    global _libc  # noqa: PLW0603 - one CDLL handle, loaded lazily, shared by every call
    nr = _NR
    if nr is None:
        return None
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    value = int(_libc.syscall(nr, IOPRIO_WHO_PROCESS, pid))
    return None if value < 0 else value


def ioprio_class(value: int) -> int:
    """The class part of a raw ioprio value (IOPRIO_CLASS_*)."""
    return value >> IOPRIO_CLASS_SHIFT
