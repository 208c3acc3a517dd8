"""Block devices (diskstats and IO scheduler) and network interfaces (net/dev)."""

from __future__ import annotations

from pathlib import Path

from smoothdesk.collector.fileio import read_text_quiet
from smoothdesk.core.snapshot import DiskStats

SECTOR_BYTES = 512  # diskstats counts 512-byte sectors whatever the device's block size
_VIRTUAL_PREFIXES = ("loop", "ram")
_DISK_CACHE_SECONDS = 30.0


def parse_scheduler(text: str) -> str:
    """The active scheduler: the bracketed entry of queue/scheduler ("none [mq-deadline] bfq")."""
    for word in text.split():
        if word.startswith("[") and word.endswith("]"):
            return word[1:-1]
    words = text.split()
    return words[0] if len(words) == 1 else ""


def block_devices(sys_root: Path = Path("/sys")) -> dict[str, str]:
    """Whole disks with a request queue (no partitions, loop or ram devices) -> scheduler."""
    block = sys_root / "block"
    try:
        names = sorted(p.name for p in block.iterdir())
    except OSError:
        return {}
    result: dict[str, str] = {}
    for name in names:
        if name.startswith(_VIRTUAL_PREFIXES) or not (block / name / "queue").is_dir():
            continue
        result[name.replace("!", "/")] = parse_scheduler(
            read_text_quiet(f"{block / name / 'queue' / 'scheduler'}") or ""
        )
    return result


def read_net(text: str) -> dict[str, tuple[int, int]]:
    """Interface -> (rx bytes, tx bytes) from /proc/net/dev content, without lo."""
    result: dict[str, tuple[int, int]] = {}
    for line in text.splitlines()[2:]:
        name, sep, rest = line.partition(":")
        fields = rest.split()
        name = name.strip()
        if not sep or name == "lo" or len(fields) < 9:
            continue
        result[name] = (int(fields[0]), int(fields[8]))
    return result


class DiskReader:
    """Per-disk read/write byte rates and busy percent between two reads of /proc/diskstats."""

    def __init__(self, root: Path = Path("/")) -> None:
        self._diskstats = f"{root / 'proc' / 'diskstats'}"
        self._sys = root / "sys"
        self._schedulers: dict[str, str] = {}
        self._scanned: frozenset[str] = frozenset()
        self._cache_time: float | None = None
        self._prev: dict[str, tuple[int, int, int]] = {}
        self._prev_time: float | None = None

    def read(self, now: float) -> tuple[DiskStats, ...]:
        """Current rates; the first read (and any new disk) gives 0 rates."""
        text = read_text_quiet(self._diskstats)
        if text is None:
            return ()
        counters = _parse_diskstats(text)
        stale = self._cache_time is None or now - self._cache_time > _DISK_CACHE_SECONDS
        if stale or not self._scanned.issuperset(counters):
            # Schedulers change rarely; rescanning /sys every tick would cost more than the
            # rest, so it happens every 30 s or when a device appears.
            self._schedulers = block_devices(self._sys)
            self._scanned = frozenset(counters)
            self._cache_time = now
        dt = 0.0 if self._prev_time is None else now - self._prev_time
        self._prev_time = now
        result = []
        current: dict[str, tuple[int, int, int]] = {}
        for name, values in counters.items():
            if name not in self._schedulers:
                continue
            current[name] = values
            prev = self._prev.get(name)
            if prev is None or dt <= 0:
                result.append(DiskStats(name, 0.0, 0.0, 0.0, self._schedulers[name]))
                continue
            read_rate = max(values[0] - prev[0], 0) * SECTOR_BYTES / dt
            write_rate = max(values[1] - prev[1], 0) * SECTOR_BYTES / dt
            busy = min(100.0, max(values[2] - prev[2], 0) / (dt * 10.0))
            result.append(DiskStats(name, read_rate, write_rate, busy, self._schedulers[name]))
        self._prev = current
        return tuple(result)


def _parse_diskstats(text: str) -> dict[str, tuple[int, int, int]]:
    """name -> (sectors read, sectors written, milliseconds spent doing IO)."""
    result: dict[str, tuple[int, int, int]] = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 14:
            continue
        result[fields[2]] = (int(fields[5]), int(fields[9]), int(fields[12]))
    return result
