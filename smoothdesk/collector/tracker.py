"""The process table: new processes are read in full once, known ones cheaply, each tick.

Cost design. Each tick reads /proc/PID/stat of the "hot set" (processes that
used CPU in their last sample, are runnable, or reaped children that did, plus
new ones) and of a rolling slice of the others, sized so that every known
process is read at least once per `full_every` seconds without one tick paying
for all of them. /proc is listed every `full_every` seconds. A full sweep
(list /proc, read every known process) happens on the first tick, when asked
(request_sweep), and when the CPU time the reads account for falls short of
what /proc/stat says tasks used (a sleeping process woke up busy) even after
reading the processes busy within the last `recent` seconds; a sweep that
finds too little suppresses the next ones for `full_every` seconds, and each
further one that finds too little doubles that (up to QUIET_MAX times
`full_every`). A stat read whose bytes equal the previous read costs no parsing.

Whole-process reads (status, cmdline, exe, cgroup, ...) happen once per
process, again when its comm changes (exec) or add_pid is called, and once
more `settle` seconds after a process appears (launchers move new processes
into their scope just after fork, and exec shows the new comm before the new
cmdline).

With netlink events, drain them just before each tick: defer_pid() for fork
and exec, forget() for exit, request_sweep() on overflow.

Records in a returned Snapshot are never mutated afterwards: a record that
changes is replaced, so unchanged records are shared between snapshots.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from time import perf_counter
from types import MappingProxyType

from smoothdesk.collector.book import ProcessBook
from smoothdesk.collector.system import SystemReader
from smoothdesk.collector.tickstats import TickStats
from smoothdesk.core.process import ProcessRecord
from smoothdesk.core.snapshot import Snapshot

QUIET_MAX = 8
"""At most this many full_every periods between two sweeps that keep finding nothing."""


class ProcessTable(ProcessBook):
    """Known processes under root/proc, refreshed by tick() at a cost that tracks activity."""

    def __init__(
        self,
        root: Path = Path("/"),
        full_every: float = 5.0,
        *,
        window: float = 10.0,
        unaccounted_threshold: float = 10.0,
        recent: float = 60.0,
        settle: float = 2.0,
        system: SystemReader | None = None,
        wall_clock: Callable[[], float] = time.time,
        stat_fds: int | None = None,
    ) -> None:
        """`unaccounted_threshold` is in percent of one core; `recent` is how long a process
        that used CPU stays among the first suspects when CPU goes unaccounted; `system` is
        read once per tick by the table (pass one only if nothing else reads it); `stat_fds` is
        how many stat files to keep open (collector.statfiles)."""
        reader = system if system is not None else SystemReader(root)
        super().__init__(root, window=window, settle=settle, system=reader, stat_fds=stat_fds)
        self.full_every = full_every
        self.unaccounted_threshold = unaccounted_threshold
        self.recent = recent
        self.stats = TickStats()
        self._wall = wall_clock
        self._last_tick: float | None = None
        self._last_listdir = 0.0
        self._want_sweep = False
        self._quiet_until = 0.0
        self._quiet_rounds = 1
        # Pids added or re-read with a change between the last two snapshots: a superset of
        # those whose record differs between them.
        self.replaced: frozenset[int] = frozenset()

    @property
    def processes(self) -> Mapping[int, ProcessRecord]:
        """A read-only view of the current records by pid."""
        return MappingProxyType(self._records)

    def request_sweep(self) -> None:
        """Make the next tick list /proc and read every process (e.g. after lost events)."""
        self._want_sweep = True

    def forget(self, pid: int) -> None:
        """Drop a process (its exit event arrived); unknown pids are ignored."""
        self._drop(pid)

    def add_pid(self, pid: int, now: float) -> ProcessRecord | None:
        """Read a process in full now; None if it is already gone (or a zombie).

        For when the record is needed at once; to follow fork/exec events,
        defer_pid is cheaper. A known pid keeps its CPU history unless its
        start time shows the pid was reused.
        """
        started = perf_counter()
        self._current = self._pending
        entry = self._entries.get(pid)
        if entry is None:
            record = self._add(pid, now, settle=True)
        else:
            self._refresh(pid, entry, now)
            record = self._records.get(pid)
        self._pending.events_s += perf_counter() - started
        return record

    def defer_pid(self, pid: int) -> None:
        """Read a process in full at the next tick, if it still exists then.

        The cheap way to follow fork/exec events: most forked children exec at
        once and many processes exit within a second, so reading at the next
        tick costs one full read per surviving process instead of one per event.
        """
        self._deferred.add(pid)

    def tick(self, now: float) -> Snapshot:
        """Refresh the table at monotonic time `now` and return the snapshot."""
        cpu_start = time.process_time()
        started = perf_counter()
        st = TickStats(events_s=self._pending.events_s)
        st.event_full_reads = self._pending.full_reads
        self._pending = TickStats()
        self._current = st
        system = self.system.read(now)
        reads_start = perf_counter()
        st.system_s = reads_start - started
        accounted = self._read_deferred(now)
        if self._last_tick is None:
            st.sweep = "first"
        elif self._want_sweep:
            st.sweep = "requested"
        else:
            accounted += self._read_hot(now)
            accounted += self._read_rolling(now, now - self._last_tick)
            if self._check_accounting(accounted, st):
                # Processes busy in the last minute are the likely culprits: try them first.
                accounted += self._read_recent(now)
                st.sweep = self._check_accounting(accounted, st)
            if st.sweep and now < self._quiet_until:
                st.sweep, st.suppressed = "", True
        if st.sweep:
            woken_before = st.woken_pct
            self._sweep(now, first=st.sweep == "first")
            self._want_sweep = False
            st.found_pct = st.woken_pct - woken_before
            fruitless = st.found_pct <= self.unaccounted_threshold and not st.discovered
            if st.sweep == "unaccounted" and fruitless:
                # What the sweep could read did not explain the gap (it was short-lived
                # processes that already exited, or work outside our PID namespace): stop paying
                # for sweeps until the rolling reads have come round once, and for twice as long
                # after each further fruitless one (at most QUIET_MAX rounds). The rolling reads
                # still find a woken process within full_every; a sweep only finds it sooner.
                self._quiet_until = now + self.full_every * self._quiet_rounds
                self._quiet_rounds = min(2 * self._quiet_rounds, QUIET_MAX)
            elif st.sweep == "unaccounted":
                self._quiet_rounds = 1
        elif now - self._last_listdir >= self.full_every:
            self._list(now, first=False)
        nested = st.listdir_s + st.full_s + st.io_s
        st.stat_s = perf_counter() - reads_start - nested
        self._settle_due(now)
        self._decay(now)
        snapshot = Snapshot(now, self._wall(), system, dict(self._records))
        self.replaced, self._replaced = frozenset(self._replaced), set()
        self._last_tick = now
        st.known, st.hot = len(self._entries), len(self._hot)
        st.total_s = perf_counter() - started
        st.cpu_s = time.process_time() - cpu_start
        st.other_s = max(0.0, st.total_s - sum(st.stages().values()))
        self.stats = st
        self._current = self._pending
        return snapshot

    def _read_deferred(self, now: float) -> int:
        """Full reads asked for by defer_pid; returns the ticks they account for."""
        deferred, self._deferred = self._deferred, set()
        accounted = 0
        for pid in deferred:
            entry = self._entries.get(pid)
            if entry is not None:
                accounted += self._refresh(pid, entry, now)
                continue
            record = self._add(pid, now, settle=True)
            if record is not None:
                # Forked since the previous tick: all its CPU time falls in this interval.
                accounted += record.cpu_ticks_total
        return accounted

    def _read_hot(self, now: float) -> int:
        accounted = 0
        for pid in list(self._hot):
            entry = self._entries.get(pid)
            if entry is not None:
                accounted += self._read_known(pid, entry, now)
        return accounted

    def _read_recent(self, now: float) -> int:
        """Read the processes that used CPU within the last `recent` seconds."""
        horizon = now - self.recent
        accounted = 0
        for pid, seen in list(self._recent.items()):
            entry = self._entries.get(pid)
            if entry is None or seen < horizon:
                del self._recent[pid]
            elif entry.read_time != now:
                self._current.recent_reads += 1
                accounted += self._read_known(pid, entry, now)
        return accounted

    def _read_rolling(self, now: float, elapsed: float) -> int:
        """Read the next slice of every known process, so that each is read at least once
        per full_every seconds without one tick paying for all of them."""
        rotation = self._rotation
        budget = math.ceil(len(self._entries) * elapsed / self.full_every)
        pops = len(rotation)
        accounted = 0
        while budget > 0 and pops > 0:
            pops -= 1
            pid, entry = rotation.popleft()
            if self._entries.get(pid) is not entry:
                continue  # gone, or replaced by a newer entry that has its own place
            rotation.append((pid, entry))
            budget -= 1
            if entry.read_time != now:
                self._current.rolling_reads += 1
                accounted += self._read_known(pid, entry, now)
        return accounted

    def _check_accounting(self, accounted: int, st: TickStats) -> str:
        """ "unaccounted" when tasks used clearly more CPU than the reads account for."""
        interval = self.system.last_interval
        if interval <= 0:
            return ""
        st.unaccounted_pct = self._percent(self.system.last_task_ticks - accounted)
        return "unaccounted" if st.unaccounted_pct > self.unaccounted_threshold else ""

    def _percent(self, ticks: int) -> float:
        """Ticks over the last interval as percent of one core."""
        interval = self.system.last_interval
        return 100.0 * ticks / (self.clk_tck * interval) if interval > 0 else 0.0

    def _list(self, now: float, *, first: bool) -> None:
        """List /proc: drop processes that are gone, read new ones in full."""
        st = self._current
        started = perf_counter()
        # os.listdir: Path.iterdir would build ~1000 Path objects per listing for nothing.
        listed = set(map(int, filter(str.isdigit, os.listdir(self._proc))))  # noqa: PTH208
        st.listdir_s += perf_counter() - started
        st.listed = True
        self._last_listdir = now
        for pid in self._entries.keys() - listed:
            self._drop(pid)
        for pid in listed - self._entries.keys():
            record = self._add(pid, now, settle=not first)
            if record is not None and record.cpu_ticks_total > 0:
                st.discovered += 1

    def _sweep(self, now: float, *, first: bool) -> None:
        """List /proc and read every known process not read yet this tick."""
        self._list(now, first=first)
        for pid, entry in list(self._entries.items()):
            # A reused pid may have replaced its entry during this loop.
            if entry.read_time != now and self._entries.get(pid) is entry:
                self._read_known(pid, entry, now)
