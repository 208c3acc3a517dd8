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


def _measure_on(tid: int, test_ns: int) -> tuple[int, int]:
    """(what a test_ns slice reads back as, the base slice) measured on thread `tid`, which ends
    as it began: clearing a custom slice sets the base one, and a custom slice it had is put back."""
    saved = get_attr(tid)
    _set_runtime(tid, saved, test_ns)
    try:
        seen = int(get_attr(tid).sched_runtime)
    finally:
        _set_runtime(tid, saved, 0)
    base = int(get_attr(tid).sched_runtime)
    if saved.sched_runtime != base:
        _set_runtime(tid, saved, saved.sched_runtime)
    return seen, base


def _measure(test_ns: int) -> tuple[int, int] | None:
    """_measure_on the calling thread, None when it is not SCHED_OTHER/BATCH (no slice to set).

    No throwaway thread: starting one can take seconds for a helper still demoted at its first
    instruction (and it would inherit the policy anyway).
    """
    if get_attr(0).sched_policy not in (SCHED_OTHER, SCHED_BATCH):
        return None
    return _measure_on(0, test_ns)


_cached: list[tuple[int, int]] = []
TEST_NS = 250_000


def _measured() -> tuple[int, int] | None:
    if not _cached:
        try:
            found = _measure(TEST_NS)
        except OSError:
            found = (0, 0)
        if found is None:
            return None  # asked again once this thread is fair-class
        _cached.append(found)
    return _cached[0]


def base_slice_ns() -> int:
    """The slice of a thread with no custom slice (0 where the kernel has no fair slices to read),
    measured once per process; the kernel's default until it can be measured."""
    found = _measured()
    if found is not None:
        return found[1]
    return 700_000 * (1 + min(os.cpu_count() or 1, 8).bit_length() - 1)


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
    """Whether this kernel honours custom slices, measured on a thread of ours (and undone)."""

    honoured: bool
    base_ns: int
    detail: str


def probe_support(test_ns: int = TEST_NS) -> SliceSupport:
    """Set a custom slice on a thread of ours, read it back, and put the thread back as it was."""
    try:
        found = _measure(test_ns)
    except OSError as exc:
        return SliceSupport(False, 0, f"sched_setattr failed: {exc.strerror or exc}")
    if found is None:
        return SliceSupport(False, 0, "not measured: this thread is not SCHED_OTHER or SCHED_BATCH")
    seen, base = found
    if seen != test_ns:
        return SliceSupport(
            False, base, f"a {test_ns // 1000} us slice read back as {seen // 1000} us (kernel < 6.12?)"
        )
    return SliceSupport(
        True, base, f"a {test_ns // 1000} us slice read back as set; base slice {base // 1000} us"
    )


def honoured() -> bool:
    """Whether the slice lever can be pulled here (measured once per process)."""
    found = _measured()
    return found is not None and found[0] == TEST_NS
