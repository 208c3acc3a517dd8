"""The scheduling-latency sampler: a small process that sleeps to absolute deadlines and reports lateness.

It runs apart from the helper because a thread in the helper would measure the GIL, not the scheduler.
Usage: `python -m smoothdesk.telemetry.probe_worker INTERVAL_NS PARENT_PID`. Every wake-up's lateness
(ns since the deadline, capped at 2**32-1) goes to stdout as a native uint32, in batches of at most
50 ms. It exits when the parent dies (PR_SET_PDEATHSIG), when stdin reaches EOF, or when stdout breaks.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import signal
import sys
import threading
import time
from array import array

CLOCK_MONOTONIC = 1
TIMER_ABSTIME = 1
PR_SET_PDEATHSIG = 1
PR_SET_NAME = 15
PR_SET_TIMERSLACK = 29
F_SETPIPE_SZ = 1031
PIPE_SIZE = 1 << 20
FLUSH_NS = 50_000_000
# A batch of at most PIPE_BUF bytes is written atomically: the parent never sees half a sample.
MAX_BATCH = 1024
CAP = 2**32 - 1


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


def _prepare(libc: ctypes.CDLL, parent: int) -> None:
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the prctl took effect
        os._exit(0)
    libc.prctl(PR_SET_NAME, ctypes.c_char_p(b"smoothdesk-prb"), 0, 0, 0)
    # The default 50 us timer slack would show up as lateness that is not the scheduler's.
    libc.prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0)
    # Where stdout is not a pipe or the limit is lower, the default 64 KiB still holds 30 s of samples.
    with contextlib.suppress(OSError):
        fcntl.fcntl(1, F_SETPIPE_SZ, PIPE_SIZE)
    os.set_blocking(1, False)
    threading.Thread(target=_exit_at_eof, daemon=True).start()


def _exit_at_eof() -> None:
    # Blocked in read(2) this thread holds no GIL, so it does not disturb the sampling loop.
    while os.read(0, 4096):
        pass
    os._exit(0)


def _flush(batch: array[int]) -> None:
    try:
        os.write(1, batch.tobytes())
    except BlockingIOError:
        pass  # the parent has not read for minutes: drop this batch rather than stall the sampler
    except BrokenPipeError:
        os._exit(0)


def run(interval_ns: int, parent: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    _prepare(libc, parent)
    sleep = libc.clock_nanosleep
    ts = _Timespec()
    ref = ctypes.byref(ts)
    clock = time.monotonic_ns
    batch: array[int] = array("I")
    deadline = clock() + interval_ns
    flushed = clock()
    while True:
        ts.tv_sec, ts.tv_nsec = divmod(deadline, 1_000_000_000)
        if sleep(CLOCK_MONOTONIC, TIMER_ABSTIME, ref, None) == errno.EINTR:
            continue
        now = clock()
        late = now - deadline
        batch.append(min(late, CAP) if late > 0 else 0)
        # Deadlines that passed while we waited to run are skipped, not replayed as a burst.
        deadline += (late // interval_ns + 1) * interval_ns if late >= interval_ns else interval_ns
        if now - flushed >= FLUSH_NS or len(batch) >= MAX_BATCH:
            _flush(batch)
            batch = array("I")
            flushed = now


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit("usage: probe_worker INTERVAL_NS PARENT_PID")
    run(int(sys.argv[1]), int(sys.argv[2]))


if __name__ == "__main__":
    main()
