"""System-wide figures: CPU, memory, load, PSI, disks and network, with rates between reads."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

from smoothdesk.collector.devices import DiskReader, read_net
from smoothdesk.collector.fileio import read_text_quiet
from smoothdesk.core.snapshot import NetStats, PsiFigures, SystemStats

PSI_RESOURCES = ("cpu", "io", "memory")


class CpuTimes(NamedTuple):
    """The aggregate "cpu" line of /proc/stat, in clock ticks."""

    user: int
    nice: int
    system: int
    idle: int
    iowait: int
    irq: int
    softirq: int
    steal: int

    @property
    def total(self) -> int:
        # guest time is already inside user and nice, so it is not added again.
        return sum(self)

    @property
    def tasks(self) -> int:
        """Ticks that were charged to some task (what /proc/PID/stat utime+stime add up to)."""
        return self.user + self.nice + self.system


def parse_proc_stat(text: str) -> tuple[CpuTimes, int, int]:
    """(aggregate cpu times, number of cpuN lines, procs_running) from /proc/stat."""
    times = CpuTimes(0, 0, 0, 0, 0, 0, 0, 0)
    ncpu = 0
    running = 0
    for line in text.splitlines():
        if line.startswith("cpu "):
            values = [int(v) for v in line.split()[1:9]]
            values += [0] * (8 - len(values))
            times = CpuTimes(*values)
        elif line.startswith("cpu"):
            ncpu += 1
        elif line.startswith("procs_running "):
            running = int(line.split()[1])
    return times, ncpu, running


def parse_meminfo(text: str) -> dict[str, int]:
    """Every "Key: N kB" line of /proc/meminfo, in bytes."""
    values: dict[str, int] = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        fields = rest.split()
        if fields and fields[0].isdigit():
            scale = 1024 if len(fields) > 1 and fields[1] == "kB" else 1
            values[key] = int(fields[0]) * scale
    return values


def _meminfo_value(text: str, key: str) -> int | None:
    """One "Key: N kB" line of /proc/meminfo in bytes, as parse_meminfo reads it; None if absent."""
    at = text.find(key + ":")
    while at > 0 and text[at - 1] != "\n":
        at = text.find(key + ":", at + 1)
    if at < 0:
        return None
    end = text.find("\n", at)
    fields = text[at + len(key) + 1 : end if end >= 0 else len(text)].split()
    if not fields or not fields[0].isdigit():
        return None
    return int(fields[0]) * (1024 if len(fields) > 1 and fields[1] == "kB" else 1)


def parse_psi(resource: str, text: str) -> dict[str, PsiFigures]:
    """ "some"/"full" lines of one /proc/pressure file, keyed "cpu.some" and so on."""
    result: dict[str, PsiFigures] = {}
    for line in text.splitlines():
        kind, *pairs = line.split()
        values = dict(pair.split("=", 1) for pair in pairs if "=" in pair)
        try:
            result[f"{resource}.{kind}"] = PsiFigures(
                float(values["avg10"]),
                float(values["avg60"]),
                float(values["avg300"]),
                int(values["total"]),
            )
        except (KeyError, ValueError):
            continue
    return result


class SystemReader:
    """Reads the global figures under root; rates and percentages are since the last read."""

    def __init__(self, root: Path = Path("/")) -> None:
        self.root = root
        self._proc = f"{root / 'proc'}"
        self._disks = DiskReader(root)
        self._prev_cpu: CpuTimes | None = None
        self._prev_net: dict[str, tuple[int, int]] = {}
        self._prev_time: float | None = None
        self.last_task_ticks = 0
        """Ticks charged to tasks between the last two reads (for the tracker's accounting)."""
        self.last_interval = 0.0
        """Seconds between the last two reads; 0 after the first."""

    def read(self, now: float) -> SystemStats:
        """Read every global figure; `now` is a monotonic time in seconds."""
        dt = 0.0 if self._prev_time is None else max(now - self._prev_time, 0.0)
        self._prev_time = now
        self.last_interval = dt
        stats = SystemStats()
        self._read_cpu(stats)
        self._read_memory(stats)
        self._read_load(stats)
        for resource in PSI_RESOURCES:
            text = read_text_quiet(f"{self._proc}/pressure/{resource}")
            if text is not None:
                stats.psi.update(parse_psi(resource, text))
        stats.disks = self._disks.read(now)
        stats.net = self._read_net(dt)
        return stats

    def _read_cpu(self, stats: SystemStats) -> None:
        text = read_text_quiet(f"{self._proc}/stat")
        if text is None:
            return
        times, ncpu, stats.running = parse_proc_stat(text)
        stats.ncpu = ncpu or os.cpu_count() or 1
        prev, self._prev_cpu = self._prev_cpu, times
        if prev is None:
            self.last_task_ticks = 0
            return
        delta = CpuTimes(*(max(a - b, 0) for a, b in zip(times, prev, strict=True)))
        self.last_task_ticks = delta.tasks
        total = delta.total
        if total <= 0:
            return
        stats.cpu_busy = 100.0 * (total - delta.idle - delta.iowait) / total
        stats.cpu_user = 100.0 * (delta.user + delta.nice) / total
        stats.cpu_system = 100.0 * (delta.system + delta.irq + delta.softirq) / total
        stats.cpu_iowait = 100.0 * delta.iowait / total

    def _read_memory(self, stats: SystemStats) -> None:
        text = read_text_quiet(f"{self._proc}/meminfo")
        if text is None:
            return
        # Four of ~55 lines, found with str.find: parse_meminfo's loop over every line was most of
        # the cost of the whole system read.
        stats.mem_total = _meminfo_value(text, "MemTotal") or 0
        available = _meminfo_value(text, "MemAvailable")
        stats.mem_available = available if available is not None else _meminfo_value(text, "MemFree") or 0
        stats.swap_total = _meminfo_value(text, "SwapTotal") or 0
        stats.swap_free = _meminfo_value(text, "SwapFree") or 0

    def _read_load(self, stats: SystemStats) -> None:
        text = read_text_quiet(f"{self._proc}/loadavg")
        if text is None:
            return
        parts = text.split()
        if len(parts) >= 3:
            stats.loadavg = (float(parts[0]), float(parts[1]), float(parts[2]))

    def _read_net(self, dt: float) -> tuple[NetStats, ...]:
        text = read_text_quiet(f"{self._proc}/net/dev")
        if text is None:
            return ()
        current = read_net(text)
        result = []
        for name, (rx, tx) in current.items():
            prev = self._prev_net.get(name)
            if prev is None or dt <= 0:
                result.append(NetStats(name, 0.0, 0.0))
            else:
                result.append(NetStats(name, max(rx - prev[0], 0) / dt, max(tx - prev[1], 0) / dt))
        self._prev_net = current
        return tuple(result)
