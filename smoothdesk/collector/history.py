"""Per-process sampling state kept between ticks, and the sliding-window CPU rate."""

from __future__ import annotations

from collections import deque
from dataclasses import replace

from smoothdesk.collector.procfs import StatFields
from smoothdesk.core.process import ProcessRecord

Sample = tuple[float, int]  # (monotonic time, cumulative cpu ticks)


def window_rate(window: deque[Sample], now: float, ticks: int, span: float, clk_tck: int) -> float:
    """Percent of one core used over the last `span` seconds up to `now`.

    `window` holds (time, ticks) samples in time order and is pruned in place
    to one sample at or before the window start. (now, ticks) is the current
    value. Between two samples the ticks are interpolated linearly: that is
    all we know about when the time was spent.
    """
    start = now - span
    while len(window) > 1 and window[1][0] <= start:
        window.popleft()
    if not window:
        return 0.0
    t0, k0 = window[0]
    k_start = float(k0)
    if t0 < start:
        t1, k1 = window[1] if len(window) > 1 else (now, ticks)
        if t1 > t0:
            k_start = k0 + (k1 - k0) * (start - t0) / (t1 - t0)
        t0 = start
    elapsed = now - t0
    if elapsed <= 0:
        return 0.0
    return max(0.0, 100.0 * (ticks - k_start) / (clk_tck * elapsed))


def with_stat(
    record: ProcessRecord,
    stat: StatFields,
    page_size: int,
    *,
    cpu_tick: float,
    cpu_10s: float,
    io_rates: tuple[float, float],
) -> ProcessRecord:
    """A copy of record with every field /proc/PID/stat refreshes, plus the new rates."""
    return replace(
        record,
        ppid=stat.ppid,
        pgrp=stat.pgrp,
        session=stat.session,
        tty=stat.tty_nr,
        state=stat.state,
        nice=stat.nice,
        policy=stat.policy,
        rt_priority=stat.rt_priority,
        kernel_thread=stat.kernel_thread,
        rss=stat.rss_pages * page_size,
        threads=stat.num_threads,
        cpu_ticks_total=stat.cpu_ticks,
        cpu_tick=cpu_tick,
        cpu_10s=cpu_10s,
        io_read_rate=io_rates[0],
        io_write_rate=io_rates[1],
    )


class Entry:
    """What the tracker remembers about one known process between ticks."""

    __slots__ = (
        "child_ticks",
        "io_path",
        "io_read",
        "io_time",
        "io_write",
        "path",
        "raw",
        "read_time",
        "record",
        "ticks",
        "window",
    )

    def __init__(
        self,
        record: ProcessRecord,
        path: str,
        *,
        raw: bytes,
        child_ticks: int,
        now: float,
        io: tuple[int, int],
    ) -> None:
        self.record = record
        self.path = path
        self.io_path = path[: -len("stat")] + "io"
        self.raw = raw
        self.ticks = record.cpu_ticks_total
        self.child_ticks = child_ticks
        self.read_time = now
        self.window: deque[Sample] = deque([(now, self.ticks)])
        self.io_read, self.io_write = io
        self.io_time = now

    def sample(self, ticks: int, now: float) -> None:
        """Record a changed tick count read at `now`."""
        last_t, last_k = self.window[-1] if self.window else (0.0, 0)
        if self.read_time > last_t and last_k == self.ticks:
            # Unchanged reads since the last sample proved the count stayed flat until then.
            self.window.append((self.read_time, self.ticks))
        self.window.append((now, ticks))
        self.ticks = ticks
        self.read_time = now

    def io_rates(self, io: tuple[int, int], now: float) -> tuple[float, float]:
        """Read and write bytes per second since the previous io read; stores the new totals."""
        elapsed = now - self.io_time
        rates = (0.0, 0.0)
        if elapsed > 0:
            rates = (
                max(io[0] - self.io_read, 0) / elapsed,
                max(io[1] - self.io_write, 0) / elapsed,
            )
        self.io_read, self.io_write = io
        self.io_time = now
        return rates
