"""DRM client usage from /proc/PID/fdinfo (Documentation/gpu/drm-usage-stats.rst): parse, find, diff."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from smoothdesk.collector.fileio import read_text_quiet

_UNITS = {"": 1, "B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}
_FREQ = {"Hz": 1, "KHz": 1000, "kHz": 1000, "MHz": 1000**2, "GHz": 1000**3}
# Memory keys that say how much the client holds; drm-memory-* is the legacy spelling of drm-total-*.
_MEMORY_PREFIXES = ("drm-total-", "drm-memory-")
_RESIDENT_PREFIX = "drm-resident-"


@dataclass(slots=True)
class DrmClient:
    """One DRM file description as one fdinfo file describes it.

    `engines` are busy nanoseconds per engine; `cycles`/`maxfreq` are the cycle counters and
    Hz some drivers give instead; `capacity` is how many engines of a class there are (1 unless
    the driver says). Memory figures are bytes summed over regions.
    """

    driver: str
    client_id: int
    pdev: str
    engines: dict[str, int] = field(default_factory=dict)
    cycles: dict[str, int] = field(default_factory=dict)
    maxfreq: dict[str, int] = field(default_factory=dict)
    capacity: dict[str, int] = field(default_factory=dict)
    memory_total: int = 0
    memory_resident: int = 0

    @property
    def key(self) -> tuple[str, int]:
        """A client is one open of the device: the same (pdev, id) on several fds is counted once."""
        return self.pdev, self.client_id


def _amount(value: str, units: Mapping[str, int]) -> int | None:
    parts = value.split()
    if not parts or not parts[0].isdigit():
        return None
    unit = parts[1] if len(parts) > 1 else ""
    scale = units.get(unit)
    return None if scale is None else int(parts[0]) * scale


def parse_fdinfo(text: str) -> DrmClient | None:
    """The DRM part of one fdinfo file, or None when it is not a DRM client (no drm-driver)."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.startswith("drm-"):
            values[key] = value.strip()
    driver, client_id = values.get("drm-driver"), values.get("drm-client-id", "")
    if driver is None or not client_id.isdigit():
        return None
    client = DrmClient(driver, int(client_id), values.get("drm-pdev", ""))
    for key, value in values.items():
        if key.startswith("drm-engine-capacity-"):
            if value.isdigit():
                client.capacity[key.removeprefix("drm-engine-capacity-")] = int(value)
        elif key.startswith("drm-engine-"):
            ns = value.split()
            if ns and ns[0].isdigit() and (len(ns) == 1 or ns[1] == "ns"):
                client.engines[key.removeprefix("drm-engine-")] = int(ns[0])
        elif key.startswith("drm-cycles-"):
            if value.isdigit():
                client.cycles[key.removeprefix("drm-cycles-")] = int(value)
        elif key.startswith("drm-maxfreq-"):
            hz = _amount(value, _FREQ)
            if hz:
                client.maxfreq[key.removeprefix("drm-maxfreq-")] = hz
        elif key.startswith(_MEMORY_PREFIXES):
            if key.startswith("drm-memory-") and any(k.startswith("drm-total-") for k in values):
                continue  # a driver giving both spellings would be counted twice
            client.memory_total += _amount(value, _UNITS) or 0
        elif key.startswith(_RESIDENT_PREFIX):
            client.memory_resident += _amount(value, _UNITS) or 0
    return client


def drm_fds(proc_root: Path, pid: int) -> tuple[int, ...]:
    """The fds of PID that point into /dev/dri (render nodes or cards); () when gone or refused."""
    base = f"{proc_root}/{pid}/fd"
    try:
        names = os.listdir(base)  # noqa: PTH208 - one call per process on a full scan
    except OSError:
        return ()
    found = []
    for name in names:
        try:
            target = os.readlink(f"{base}/{name}")  # noqa: PTH115 - hot loop, no Path objects
        except OSError:
            continue
        if target.startswith("/dev/dri/"):
            found.append(int(name))
    return tuple(sorted(found))


def scan_drm_holders(proc_root: Path, pids: Iterable[int] | None = None) -> dict[int, tuple[int, ...]]:
    """Processes holding a DRM fd, with those fds: the expensive full scan, done rarely."""
    if pids is None:
        try:
            pids = [int(n) for n in os.listdir(proc_root) if n.isdigit()]  # noqa: PTH208
        except OSError:
            return {}
    return {pid: fds for pid in pids if (fds := drm_fds(proc_root, pid))}


def read_clients(proc_root: Path, pid: int, fds: Iterable[int]) -> list[DrmClient]:
    """The DRM clients behind PID's fds (an fd closed since the scan is skipped)."""
    out = []
    for fd in fds:
        text = read_text_quiet(f"{proc_root}/{pid}/fdinfo/{fd}")
        if text is not None and (client := parse_fdinfo(text)) is not None:
            out.append(client)
    return out


@dataclass(frozen=True, slots=True)
class EngineUse:
    """Percent busy per engine over the last interval (100 = one engine class fully busy)."""

    engines: dict[str, float]

    @property
    def busiest(self) -> float:
        return max(self.engines.values(), default=0.0)


def engine_use(old: DrmClient, new: DrmClient, elapsed_ns: int) -> EngineUse | None:
    """Utilisation between two reads of one client; None when the counters went backwards
    (a reused client id) or no time passed."""
    if elapsed_ns <= 0:
        return None
    out: dict[str, float] = {}
    for name, ns in new.engines.items():
        before = old.engines.get(name)
        if before is None:
            continue
        if ns < before:
            return None
        out[name] = 100.0 * (ns - before) / (elapsed_ns * max(new.capacity.get(name, 1), 1))
    for name, cycles in new.cycles.items():
        before, hz = old.cycles.get(name), new.maxfreq.get(name)
        if name in out or before is None or not hz:
            continue
        if cycles < before:
            return None
        busy_ns = (cycles - before) * 1e9 / hz
        out[name] = 100.0 * busy_ns / (elapsed_ns * max(new.capacity.get(name, 1), 1))
    return EngineUse({k: min(v, 100.0) for k, v in out.items()})
