"""GPU use, total and per process: DRM fdinfo, amdgpu's gpu_busy_percent, NVML when importable.

Absent hardware is reported with the reason, never faked as zero. A tick reads only the fdinfo
of processes a full scan found holding a /dev/dri fd; the full scan (every fd link of every
process) runs only when the caller asks (`rescan=True`), e.g. on its own full-scan cadence.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smoothdesk.collector.drm import DrmClient, engine_use, read_clients, scan_drm_holders
from smoothdesk.collector.fileio import read_text_quiet


@dataclass(frozen=True, slots=True)
class CardBusy:
    """What sysfs or NVML says about a whole card: percent busy and VRAM in bytes (None: not given)."""

    name: str
    busy_percent: float | None
    vram_used: int | None = None
    vram_total: int | None = None


@dataclass(frozen=True, slots=True)
class GpuStatus:
    """Whether GPU use can be measured here, from which sources, or why not."""

    present: bool
    sources: tuple[str, ...]
    reason: str


@dataclass(frozen=True, slots=True)
class ProcessGpu:
    """One process's GPU use over the last interval: percent per engine and memory in bytes."""

    pid: int
    engines: dict[str, float]
    memory: int = 0

    @property
    def percent(self) -> float:
        return max(self.engines.values(), default=0.0)


@dataclass(frozen=True, slots=True)
class GpuSample:
    """One read. `total` is percent per engine per device (pdev) over every client; rates need two reads."""

    status: GpuStatus
    cards: tuple[CardBusy, ...] = ()
    processes: dict[int, ProcessGpu] = field(default_factory=dict)
    total: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def busy_percent(self) -> float | None:
        """The busiest engine of any device, else the busiest card, else None (unknown)."""
        busiest = [v for engines in self.total.values() for v in engines.values()]
        if busiest:
            return max(busiest)
        known = [c.busy_percent for c in self.cards if c.busy_percent is not None]
        return max(known) if known else None


def _render_nodes(dev_root: Path) -> list[str]:
    try:
        return sorted(n for n in os.listdir(dev_root / "dri") if n.startswith(("renderD", "card")))  # noqa: PTH208
    except OSError:
        return []


def read_cards(sys_root: Path) -> tuple[CardBusy, ...]:
    """Cards under /sys/class/drm (connectors such as card0-DP-1 skipped) with what they expose."""
    base = sys_root / "class" / "drm"
    try:
        names = sorted(n for n in os.listdir(base) if n.startswith("card") and "-" not in n)  # noqa: PTH208
    except OSError:
        return ()
    cards = []
    for name in names:
        dev = base / name / "device"
        busy = _int(read_text_quiet(f"{dev}/gpu_busy_percent"))
        cards.append(
            CardBusy(
                name,
                None if busy is None else float(busy),
                _int(read_text_quiet(f"{dev}/mem_info_vram_used")),
                _int(read_text_quiet(f"{dev}/mem_info_vram_total")),
            )
        )
    return tuple(cards)


def _int(text: str | None) -> int | None:
    try:
        return None if text is None else int(text.strip())
    except ValueError:
        return None


def load_nvml() -> tuple[Any, str]:
    """(the initialised pynvml module, "") or (None, why not); nvidia-ml-py is optional, not a dependency."""
    try:
        nvml = importlib.import_module("pynvml")
    except ImportError:
        return None, "NVML: nvidia-ml-py (pynvml) is not installed"
    try:
        nvml.nvmlInit()
    except nvml.NVMLError as exc:  # no driver, no library, no device: each is its own NVMLError
        return None, f"NVML: {exc}"
    return nvml, ""


def read_nvml(nvml: Any) -> tuple[tuple[CardBusy, ...], dict[int, ProcessGpu]]:
    """Card busy and per-process SM use and memory from an initialised pynvml module."""
    cards: list[CardBusy] = []
    procs: dict[int, ProcessGpu] = {}
    for index in range(int(nvml.nvmlDeviceGetCount())):
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
        util = nvml.nvmlDeviceGetUtilizationRates(handle)
        mem = nvml.nvmlDeviceGetMemoryInfo(handle)
        cards.append(CardBusy(f"nvidia{index}", float(util.gpu), int(mem.used), int(mem.total)))
        memory: dict[int, int] = {}
        for getter in ("nvmlDeviceGetComputeRunningProcesses", "nvmlDeviceGetGraphicsRunningProcesses"):
            try:
                for p in getattr(nvml, getter)(handle):
                    memory[int(p.pid)] = memory.get(int(p.pid), 0) + int(p.usedGpuMemory or 0)
            except nvml.NVMLError:
                continue  # not supported on this board: that figure is left out
        sm: dict[int, float] = {}
        try:
            for s in nvml.nvmlDeviceGetProcessUtilization(handle, 0):
                sm[int(s.pid)] = max(sm.get(int(s.pid), 0.0), float(s.smUtil))
        except nvml.NVMLError:
            pass  # NVML_ERROR_NOT_FOUND until the driver has samples
        for pid in memory.keys() | sm.keys():
            old = procs.get(pid)
            engines = {f"{index}-sm": sm.get(pid, 0.0)}
            if old is not None:
                engines.update(old.engines)
            procs[pid] = ProcessGpu(pid, engines, memory.get(pid, 0) + (old.memory if old else 0))
    return tuple(cards), procs


class GpuReader:
    """Reads GPU use under `root` (its proc, sys and dev); `now` is monotonic seconds."""

    def __init__(self, root: Path = Path("/"), *, nvml: bool = True) -> None:
        self.proc_root = root / "proc"
        self.sys_root = root / "sys"
        self.dev_root = root / "dev"
        self._nvml: Any
        self._nvml, self._nvml_reason = load_nvml() if nvml else (None, "NVML: disabled")
        self._holders: dict[int, tuple[int, ...]] | None = None
        self._prev: dict[tuple[str, int], tuple[DrmClient, int]] = {}
        self.status = self.probe()

    def probe(self) -> GpuStatus:
        """Which sources exist; the reason names each missing one."""
        nodes, cards = _render_nodes(self.dev_root), read_cards(self.sys_root)
        sources, why = [], []
        if nodes:
            sources.append("drm-fdinfo")
        elif (self.dev_root / "dri").is_dir():
            why.append(f"{self.dev_root / 'dri'} has no render nodes")
        else:
            why.append(f"{self.dev_root / 'dri'} does not exist")
        if any(c.busy_percent is not None for c in cards):
            sources.append("sysfs-gpu_busy_percent")
        elif not cards:
            why.append(f"{self.sys_root / 'class' / 'drm'} lists no cards")
        if self._nvml is not None:
            sources.append("nvml")
        else:
            why.append(self._nvml_reason)
        present = bool(nodes or cards or self._nvml is not None)
        reason = "; ".join(why) if present else "no GPU: " + "; ".join(why)
        return GpuStatus(present, tuple(sources), reason)

    def read(self, now: float, *, rescan: bool = False, pids: Iterable[int] | None = None) -> GpuSample:
        """One sample. `rescan` redoes the full fd scan (over `pids`, else every process)."""
        if not self.status.present:
            return GpuSample(self.status)
        cards = read_cards(self.sys_root)
        procs: dict[int, ProcessGpu] = {}
        total: dict[str, dict[str, float]] = {}
        if "drm-fdinfo" in self.status.sources:
            if rescan or self._holders is None:
                self._holders = scan_drm_holders(self.proc_root, pids)
            procs, total = self._drm(int(now * 1e9))
        if self._nvml is not None:
            nv_cards, nv_procs = read_nvml(self._nvml)
            cards += nv_cards
            for pid, p in nv_procs.items():
                old = procs.get(pid)
                procs[pid] = (
                    p if old is None else ProcessGpu(pid, {**old.engines, **p.engines}, old.memory + p.memory)
                )
        return GpuSample(self.status, cards, procs, total)

    def _drm(self, now_ns: int) -> tuple[dict[int, ProcessGpu], dict[str, dict[str, float]]]:
        assert self._holders is not None
        seen: dict[tuple[str, int], tuple[int, DrmClient]] = {}
        for pid in sorted(self._holders):
            clients = read_clients(self.proc_root, pid, self._holders[pid])
            if not clients and not (self.proc_root / str(pid)).exists():
                del self._holders[pid]
                continue
            for client in clients:
                # A client shared across fds or processes (dup, fork, fd passing) counts once,
                # for the lowest pid holding it.
                seen.setdefault(client.key, (pid, client))
        procs: dict[int, ProcessGpu] = {}
        total: dict[str, dict[str, float]] = {}
        prev, self._prev = self._prev, {}
        for key, (pid, client) in seen.items():
            self._prev[key] = (client, now_ns)
            old = prev.get(key)
            use = None if old is None else engine_use(old[0], client, now_ns - old[1])
            row = procs.get(pid) or ProcessGpu(pid, {}, 0)
            engines = dict(row.engines)
            for name, pct in (use.engines if use is not None else {}).items():
                engines[name] = min(engines.get(name, 0.0) + pct, 100.0)
                device = total.setdefault(client.pdev, {})
                device[name] = min(device.get(name, 0.0) + pct, 100.0)
            procs[pid] = ProcessGpu(pid, engines, row.memory + client.memory_total)
        return procs, total
