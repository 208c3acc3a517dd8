"""System-wide figures and the per-tick snapshot."""

from __future__ import annotations

from dataclasses import dataclass, field

from smoothdesk.core.process import ProcessRecord


@dataclass(frozen=True, slots=True)
class PsiFigures:
    """One PSI line: avg10/60/300 in percent, total in microseconds."""

    avg10: float = 0.0
    avg60: float = 0.0
    avg300: float = 0.0
    total: int = 0


@dataclass(frozen=True, slots=True)
class DiskStats:
    name: str
    read_bytes_rate: float
    write_bytes_rate: float
    busy_percent: float
    scheduler: str = ""


@dataclass(frozen=True, slots=True)
class NetStats:
    name: str
    rx_bytes_rate: float
    tx_bytes_rate: float


@dataclass(slots=True)
class SystemStats:
    """Global figures; cpu percentages are of the whole machine (0-100)."""

    ncpu: int = 1
    cpu_busy: float = 0.0
    cpu_user: float = 0.0
    cpu_system: float = 0.0
    cpu_iowait: float = 0.0
    mem_total: int = 0
    mem_available: int = 0
    swap_total: int = 0
    swap_free: int = 0
    loadavg: tuple[float, float, float] = (0.0, 0.0, 0.0)
    running: int = 0
    psi: dict[str, PsiFigures] = field(default_factory=dict)
    disks: tuple[DiskStats, ...] = ()
    net: tuple[NetStats, ...] = ()

    def psi_value(self, resource: str, kind: str = "some", window: str = "avg10") -> float:
        """A PSI average by resource ("cpu", "io", "memory"), kind and window; 0 if absent."""
        figures = self.psi.get(f"{resource}.{kind}")
        return float(getattr(figures, window)) if figures is not None else 0.0


@dataclass(slots=True)
class Snapshot:
    """The world at one tick: monotonic and wall time, global figures, processes by pid."""

    monotonic: float
    wall: float
    system: SystemStats
    processes: dict[int, ProcessRecord]
