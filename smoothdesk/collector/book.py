"""What the process table knows, and how one read of a process updates it."""

from __future__ import annotations

import math
import os
from collections import deque
from dataclasses import replace
from pathlib import Path
from time import perf_counter

from smoothdesk.collector.history import Entry, window_rate, with_stat
from smoothdesk.collector.procfs import (
    DEAD_STATES,
    REAL_PROC,
    FullRead,
    StatFields,
    parse_cpu_list,
    parse_stat_at,
    read_io_at,
    read_process_full,
)
from smoothdesk.collector.statfiles import StatFiles
from smoothdesk.collector.system import SystemReader
from smoothdesk.collector.tickstats import TickStats
from smoothdesk.core.process import ProcessRecord


class ProcessBook:
    """Per-process state and the read paths (cheap stat, full read); ProcessTable decides
    when to read what.

    Every read returns the CPU ticks it accounts for in the current interval, which the
    table compares with /proc/stat. Records are replaced, never mutated, once published.
    """

    def __init__(
        self, root: Path, *, window: float, settle: float, system: SystemReader, stat_fds: int | None = None
    ) -> None:
        """`stat_fds`: how many stat files to keep open; by default statfiles.default_limit() for
        the real /proc and none for another tree."""
        self.root = root
        self.proc = root / "proc"
        self.window = window
        self.settle = settle
        self.system = system
        self.clk_tck = os.sysconf("SC_CLK_TCK")
        self.page_size = os.sysconf("SC_PAGE_SIZE")
        self.ncpu = _online_cpus(root)
        self._proc = str(self.proc)
        self._entries: dict[int, Entry] = {}
        self._records: dict[int, ProcessRecord] = {}
        # Pids whose record was replaced (or added) since the last tick's snapshot: the only
        # ones whose record can differ from that snapshot's, so readers compare these alone.
        self._replaced: set[int] = set()
        self._hot: set[int] = set()
        self._recent: dict[int, float] = {}
        self._deferred: set[int] = set()
        self._warm: set[int] = set()
        self._settling: deque[tuple[float, int, int]] = deque()
        self._rotation: deque[tuple[int, Entry]] = deque()
        self._pending = TickStats()
        self._current = self._pending
        if stat_fds is None and self.proc != REAL_PROC:
            # A file of a fake tree (tests) that is removed still reads its old bytes through a
            # kept fd, where a real process's reads ESRCH: such trees are read by path.
            stat_fds = 0
        self._stat_files = StatFiles(stat_fds)

    def close(self) -> None:
        """Close the stat files kept open (also done when the table is garbage-collected)."""
        self._stat_files.close()

    def _read_known(self, pid: int, entry: Entry, now: float) -> int:
        """Cheap re-read of a known process; returns the ticks it accounts for."""
        self._current.cheap_reads += 1
        raw = self._stat_files.read(pid, entry.path)
        if raw is None:
            self._drop(pid)
            return 0
        if raw == entry.raw:
            entry.read_time = now
            if pid in self._hot and entry.record.state != "R":
                self._cool(pid, entry)
            return 0
        stat = parse_stat_at(entry.path, raw)
        if stat.state in DEAD_STATES:
            self._drop(pid)  # exited; its parent has not reaped it yet
            return 0
        if stat.start_time != entry.record.start_time:
            self._drop(pid)
            self._add(pid, now, settle=True)
            return 0
        if stat.comm != entry.record.comm:
            return self._refresh(pid, entry, now)
        return self._update(pid, entry, stat, raw, now=now, base=entry.record, io=None)

    def _update(
        self,
        pid: int,
        entry: Entry,
        stat: StatFields,
        raw: bytes,
        *,
        now: float,
        base: ProcessRecord,
        io: tuple[int, int] | None,
    ) -> int:
        """Fold a changed stat into the entry and replace the record; returns accounted ticks."""
        delta = max(stat.cpu_ticks - entry.ticks, 0)
        child_delta = max(stat.child_ticks - entry.child_ticks, 0)
        elapsed = now - entry.read_time
        if stat.cpu_ticks != entry.ticks:
            entry.sample(stat.cpu_ticks, now)
        entry.read_time = now
        entry.raw = raw
        entry.child_ticks = stat.child_ticks
        cpu_tick = 100.0 * delta / (self.clk_tck * elapsed) if elapsed > 0 else 0.0
        cpu_10s = window_rate(entry.window, now, stat.cpu_ticks, self.window, self.clk_tck)
        io_rates = (0.0, 0.0)
        if delta > 0 or io is not None:
            io_rates = self._io_rates(entry, now, io)
        if delta > 0 or child_delta > 0:
            # A parent reaping busy children (make, a shell loop) stays hot too: reading it
            # every tick accounts for children that live and die between two ticks.
            if pid not in self._hot:
                self._current.woken += 1
                self._current.woken_pct += cpu_tick
            self._hot.add(pid)
            self._recent[pid] = now
        elif stat.state == "R":
            # Runnable but starved of CPU this interval (an overloaded machine): it runs soon.
            self._hot.add(pid)
        else:
            self._hot.discard(pid)
        if cpu_10s > 0:
            self._warm.add(pid)
        else:
            self._warm.discard(pid)
        record = with_stat(base, stat, self.page_size, cpu_tick=cpu_tick, cpu_10s=cpu_10s, io_rates=io_rates)
        entry.record = record
        self._records[pid] = record
        self._replaced.add(pid)
        # Reaped children's time lands in the parent's cutime: counting it keeps short-lived
        # jobs (compilers under make) from forcing a sweep every tick. A reaped child may
        # have run for long before this interval (PID 1 reaping a whole finished job tree),
        # so the credit is capped at one core for the interval.
        return delta + min(child_delta, self._one_core_ticks())

    def _io_rates(self, entry: Entry, now: float, io: tuple[int, int] | None) -> tuple[float, float]:
        if io is None:
            started = perf_counter()
            io = read_io_at(entry.io_path)
            self._current.io_reads += 1
            self._current.io_s += perf_counter() - started
        return entry.io_rates(io, now)

    def _cool(self, pid: int, entry: Entry) -> None:
        """A hot process whose stat did not change: it used no CPU since its last read."""
        self._hot.discard(pid)
        rec = entry.record
        if rec.cpu_tick or rec.io_read_rate or rec.io_write_rate:
            rec = replace(rec, cpu_tick=0.0, io_read_rate=0.0, io_write_rate=0.0)
            entry.record = rec
            self._records[pid] = rec
            self._replaced.add(pid)

    def _full_read(self, pid: int, now: float) -> FullRead | None:
        started = perf_counter()
        full = read_process_full(self.proc, pid, self.page_size, self.ncpu, now)
        self._current.full_reads += 1
        self._current.full_s += perf_counter() - started
        return full

    def _add(self, pid: int, now: float, *, settle: bool) -> ProcessRecord | None:
        full = self._full_read(pid, now)
        if full is None:
            return None
        return self._adopt(pid, full, now, settle=settle)

    def _adopt(self, pid: int, full: FullRead, now: float, *, settle: bool) -> ProcessRecord:
        path = f"{self._proc}/{pid}/stat"
        io = (full.io_read_bytes, full.io_write_bytes)
        entry = Entry(full.record, path, raw=full.raw_stat, child_ticks=full.stat.child_ticks, now=now, io=io)
        if pid in self._entries:
            self._stat_files.forget(pid)  # a fd kept for the process this entry replaces
        self._entries[pid] = entry
        self._records[pid] = full.record
        self._replaced.add(pid)
        self._rotation.append((pid, entry))
        if len(self._rotation) > 2 * len(self._entries) + 64:
            # Exited processes leave stale places; drop them before they pile up.
            self._rotation = deque((p, e) for p, e in self._rotation if self._entries.get(p) is e)
        self._hot.add(pid)
        if settle and self.settle > 0:
            self._settling.append((now + self.settle, pid, full.record.start_time))
        return full.record

    def _refresh(self, pid: int, entry: Entry, now: float) -> int:
        """Full re-read of a known process, keeping its history if it is the same process."""
        full = self._full_read(pid, now)
        if full is None:
            self._drop(pid)
            return 0
        if full.stat.start_time != entry.record.start_time:
            self._drop(pid)
            self._adopt(pid, full, now, settle=True)
            return 0
        base = replace(full.record, first_seen=entry.record.first_seen)
        io = (full.io_read_bytes, full.io_write_bytes)
        accounted = self._update(pid, entry, full.stat, full.raw_stat, now=now, base=base, io=io)
        self._hot.add(pid)
        return accounted

    def _settle_due(self, now: float) -> None:
        while self._settling and self._settling[0][0] <= now:
            _, pid, start_time = self._settling.popleft()
            entry = self._entries.get(pid)
            if entry is not None and entry.record.start_time == start_time:
                self._refresh(pid, entry, now)

    def _decay(self, now: float) -> None:
        """Slide the window of every process with recent CPU use to `now`.

        Its tick count is the last one read: processes not read this tick used no
        CPU since (or the accounting check would have swept), and the others were
        just read. Recomputing a value set by this tick's read gives the same value.
        """
        for pid in list(self._warm):
            entry = self._entries.get(pid)
            if entry is None:
                self._warm.discard(pid)
                continue
            rate = window_rate(entry.window, now, entry.ticks, self.window, self.clk_tck)
            if rate <= 0:
                self._warm.discard(pid)
                rate = 0.0
            if rate != entry.record.cpu_10s:
                entry.record = replace(entry.record, cpu_10s=rate)
                self._records[pid] = entry.record
                self._replaced.add(pid)

    def _drop(self, pid: int) -> None:
        self._stat_files.forget(pid)
        self._deferred.discard(pid)
        self._entries.pop(pid, None)
        self._records.pop(pid, None)
        self._hot.discard(pid)
        self._warm.discard(pid)
        self._recent.pop(pid, None)

    def _one_core_ticks(self) -> int:
        return math.ceil(self.clk_tck * self.system.last_interval)


def _online_cpus(root: Path) -> int:
    """How many CPUs are online (what a process unrestricted by taskset may use)."""
    try:
        text = (root / "sys" / "devices" / "system" / "cpu" / "online").read_text()
        return len(parse_cpu_list(text)) or 1
    except (OSError, ValueError):
        return os.cpu_count() or 1
