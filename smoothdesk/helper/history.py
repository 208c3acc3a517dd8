"""A bounded ring of per-tick metrics: what GetHistory returns and the Metrics signal carries."""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from smoothdesk.core.snapshot import Snapshot

KEEP_SECONDS = 3600.0


class History:
    """At most one hour of samples at the tick rate (and never more than `KEEP_SECONDS / tick`)."""

    def __init__(self, tick_seconds: float, keep_seconds: float = KEEP_SECONDS) -> None:
        self.samples: deque[dict[str, Any]] = deque(maxlen=max(2, int(keep_seconds / tick_seconds)))

    def record(
        self, snapshot: Snapshot, demoted: int, tick_cost: float, wall: float | None = None
    ) -> dict[str, Any]:
        """Append this tick's basic figures; `demoted` is the number of managed demoted groups."""
        system = snapshot.system
        sample: dict[str, Any] = {
            "time": time.time() if wall is None else wall,
            "cpu_busy": float(system.cpu_busy),
            "psi_cpu_some": float(system.psi_value("cpu")),
            "psi_io_some": float(system.psi_value("io")),
            "psi_memory_some": float(system.psi_value("memory")),
            "mem_available": int(system.mem_available),
            "demoted": demoted,
            "tick_cost_ms": tick_cost * 1000.0,
        }
        self.samples.append(sample)
        return sample

    def since(self, seconds: float, now: float | None = None) -> list[dict[str, Any]]:
        """Samples of the last `seconds`, oldest first."""
        cutoff = (time.time() if now is None else now) - seconds
        return [dict(s) for s in self.samples if s["time"] >= cutoff]
