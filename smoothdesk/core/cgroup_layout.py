"""How this machine mounts cgroups: one answer, probed once, for the collector and the actuator.

collector.cgroups.probe_layout reads it from /sys/fs/cgroup; the helper probes at start and hands
the same value to the collector's pressure reads and to actuator's backend_for, which may not
import the collector. The mounts do not move while the helper runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

# "hybrid": v1 hierarchies beside a unified one at fs/cgroup/unified (this machine).
CgroupMode = Literal["v1", "v2", "hybrid", "none"]
CpuLever = Literal["v1", "v2", "none"]

# The names a v1 cpu hierarchy is mounted under, in the order they are tried.
V1_CPU_NAMES = ("cpu", "cpu,cpuacct", "cpuacct,cpu")


@dataclass(frozen=True, slots=True)
class CgroupLayout:
    """The cgroup mounts under `root` (sys_root/fs/cgroup) and their controllers."""

    root: Path
    mode: CgroupMode
    unified: Path | None = None  # where the v2 hierarchy is: root, root/unified, or nowhere
    v2_controllers: tuple[str, ...] = ()  # enabled at the unified root
    v1_controllers: tuple[str, ...] = ()  # of every v1 hierarchy, sorted
    v1_cpu: Path | None = None  # the v1 cpu hierarchy, if one has cpu.shares

    @property
    def cpu_lever(self) -> CpuLever:
        """Which cgroupfs can weight CPU: v2 where the unified root owns the cpu controller, else
        a v1 cpu hierarchy. A hybrid machine (v1 cpu, an empty v2 at unified/) counts as v1."""
        if self.unified == self.root and "cpu" in self.v2_controllers:
            return "v2"
        return "v1" if self.v1_cpu is not None else "none"
