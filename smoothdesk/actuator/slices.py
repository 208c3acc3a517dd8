"""EEVDF custom slices: one thread's sched_runtime through sched_setattr/sched_getattr (Linux >= 6.12).

A SCHED_OTHER thread with a shorter slice gets an earlier virtual deadline, so it preempts at
wake-up sooner; it gets no more CPU than before (its lag, hence its share, is unchanged). The
kernel clamps a custom slice to 0.1..100 ms, and a thread without one follows the base slice
(0.7 ms x (1 + log2 CPUs) on 6.18). sched_getattr reads a thread's slice either way; a custom
slice equal to the base one cannot be told apart from none, which is harmless (both behave alike).

Values in and out of this module: 0 means "no custom slice" (the kernel default), anything else
is a custom slice in nanoseconds. A fork inherits a custom slice (unless reset-on-fork is set).
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import threading
from collections.abc import Callable
from dataclasses import dataclass

from smoothdesk.core.process import SCHED_BATCH, SCHED_IDLE, SCHED_OTHER

_FAIR = (SCHED_OTHER, SCHED_BATCH, SCHED_IDLE)
SCHED_FLAG_RESET_ON_FORK = 0x01
SCHED_ATTR_SIZE_VER0 = 48  # without the utilization clamps: setting never touches them
MIN_SLICE_NS = 100_000
MAX_SLICE_NS = 100_000_000

# (sched_setattr, sched_getattr) syscall numbers; glibc has no wrappers for them.
_NR = {
    "x86_64": (314, 315),
    "aarch64": (274, 275),
    "riscv64": (274, 275),
    "i686": (351, 352),
    "armv7l": (380, 381),
    "ppc64le": (355, 356),
}

_libc = ctypes.CDLL(None, use_errno=True)


class SchedAttr(ctypes.Structure):
    """struct sched_attr, SCHED_ATTR_SIZE_VER1 (56 bytes)."""

    _fields_ = [
        ("size", ctypes.c_uint32),
        ("sched_policy", ctypes.c_uint32),
        ("sched_flags", ctypes.c_uint64),
        ("sched_nice", ctypes.c_int32),
        ("sched_priority", ctypes.c_uint32),
        ("sched_runtime", ctypes.c_uint64),
        ("sched_deadline", ctypes.c_uint64),
        ("sched_period", ctypes.c_uint64),
        ("sched_util_min", ctypes.c_uint32),
        ("sched_util_max", ctypes.c_uint32),
    ]


def _nr() -> tuple[int, int]:
    try:
        return _NR[platform.machine()]
    except KeyError:
        raise OSError(errno.ENOSYS, f"sched_setattr unknown on {platform.machine()}") from None


def _check(rc: int) -> None:
    if rc < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def get_attr(tid: int) -> SchedAttr:
    """sched_getattr for one thread (0 is the calling thread)."""
    attr = SchedAttr()
    _check(int(_libc.syscall(_nr()[1], tid, ctypes.byref(attr), ctypes.sizeof(attr), 0)))
    return attr


def _set_runtime(tid: int, current: SchedAttr, runtime: int) -> None:
    """sched_setattr keeping the thread's policy, nice and reset-on-fork flag; only the slice moves.

    Nice must be passed back (SCHED_FLAG_KEEP_PARAMS would skip the slice too).
    """
    attr = SchedAttr(
        size=SCHED_ATTR_SIZE_VER0,
        sched_policy=current.sched_policy,
        sched_flags=current.sched_flags & SCHED_FLAG_RESET_ON_FORK,
        sched_nice=current.sched_nice,
        sched_runtime=runtime,
    )
    _check(int(_libc.syscall(_nr()[0], tid, ctypes.byref(attr), 0)))


_base: list[int] = []


def _probe_thread(body: Callable[[int], None]) -> None:
    """Run body(tid) on a throwaway thread of ours, so that no thread that lives on is changed."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            body(threading.get_native_id())
        except BaseException as exc:  # handed to the caller
            errors.append(exc)

    t = threading.Thread(target=run, name="smoothdesk-slice-probe", daemon=True)
    t.start()
    t.join()
    if errors:
        raise errors[0]


def base_slice_ns() -> int:
    """The slice of a thread with no custom slice (0 where the kernel has no fair slices to read).

    Measured once on a throwaway thread: clearing its custom slice sets the base one.
    """
    if not _base:
        found: list[int] = []

        def body(tid: int) -> None:
            _set_runtime(tid, get_attr(tid), 0)
            found.append(int(get_attr(tid).sched_runtime))

        try:
            _probe_thread(body)
        except OSError:
            found = [0]
        _base.append(found[0])
    return _base[0]


def read_slice(tid: int) -> int:
    """The thread's custom slice in ns, 0 for none (or for a thread that is not fair-class).

    Raises ProcessLookupError when the thread is gone; a kernel without sched_getattr reads 0.
    """
    try:
        attr = get_attr(tid)
    except OSError as exc:
        if exc.errno in (errno.ENOSYS, errno.EINVAL, errno.E2BIG):
            return 0
        raise
    runtime = int(attr.sched_runtime)
    if attr.sched_policy not in _FAIR or runtime == base_slice_ns():
        return 0
    return runtime


def set_slice(tid: int, slice_ns: int) -> None:
    """Give one SCHED_OTHER/BATCH thread a custom slice, or clear it with 0; verified by reading back.

    Raises OSError(EOPNOTSUPP) when the kernel accepted the call but did not change the slice
    (before 6.12, sched_runtime is ignored for SCHED_OTHER), EINVAL for a thread that is not
    fair-class or a slice out of the kernel's range, ProcessLookupError when the thread is gone.
    """
    if slice_ns and not MIN_SLICE_NS <= slice_ns <= MAX_SLICE_NS:
        raise OSError(errno.EINVAL, f"slice {slice_ns} ns is outside {MIN_SLICE_NS}..{MAX_SLICE_NS} ns")
    current = get_attr(tid)
    if current.sched_policy not in (SCHED_OTHER, SCHED_BATCH):
        raise OSError(errno.EINVAL, f"thread {tid} has policy {current.sched_policy}: no slice to set")
    _set_runtime(tid, current, slice_ns)
    got = int(get_attr(tid).sched_runtime)
    if got != (slice_ns or base_slice_ns()):
        raise OSError(
            errno.EOPNOTSUPP,
            f"thread {tid}: the kernel did not honour a custom slice of {slice_ns} ns "
            f"(reads back {got} ns; EEVDF custom slices need Linux 6.12 or later)",
        )


@dataclass(frozen=True, slots=True)
class SliceSupport:
    """Whether this kernel honours custom slices, measured on a throwaway thread of ours."""

    honoured: bool
    base_ns: int
    detail: str


def probe_support(test_ns: int = 250_000) -> SliceSupport:
    """Set a custom slice on a throwaway thread and read it back."""
    seen: list[int] = []

    def body(tid: int) -> None:
        current = get_attr(tid)
        _set_runtime(tid, current, test_ns)
        seen.append(int(get_attr(tid).sched_runtime))

    try:
        _probe_thread(body)
    except OSError as exc:
        return SliceSupport(False, 0, f"sched_setattr failed: {exc.strerror or exc}")
    base = base_slice_ns()
    if seen[0] != test_ns:
        return SliceSupport(
            False, base, f"a {test_ns // 1000} us slice read back as {seen[0] // 1000} us (kernel < 6.12?)"
        )
    return SliceSupport(
        True, base, f"a {test_ns // 1000} us slice read back as set; base slice {base // 1000} us"
    )


_support: list[SliceSupport] = []


def honoured() -> bool:
    """probe_support(), once per process: whether the slice lever can be pulled here."""
    if not _support:
        _support.append(probe_support())
    return _support[0].honoured
