"""The cgroup lever: the backend interface and the probe that picks one for this machine."""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from smoothdesk.actuator.levers import LeverSet
from smoothdesk.core import PriorityClass, ProcessRecord, ProcKey

JsonDict = dict[str, Any]


class CgroupMode(enum.Enum):
    """How the cpu controller is mounted."""

    V2 = "v2"
    V1 = "v1"
    NONE = "none"


class CgroupBackend(ABC):
    """Moves or weights the cgroup a demoted process runs in.

    A backend acts on *targets*: a string naming what one change affects. Per-process backends
    (cgroup moves) have one target per process; unit backends (systemd) have one per unit, shared
    by every process in it, so the actuator only demotes a unit whose live processes are all
    demoted. Every method raises OSError (ESRCH/EPERM style) for the actuator to count.
    """

    name: str = "abstract"
    per_process: bool = True

    @abstractmethod
    def target(self, record: ProcessRecord) -> str | None:
        """The target this process's cgroup lever acts on, or None if this backend cannot act."""

    @abstractmethod
    def capture(self, target: str, record: ProcessRecord) -> JsonDict:
        """The original state of a target, to journal before the first change."""

    @abstractmethod
    def demote(self, target: str, record: ProcessRecord, klass: PriorityClass, levers: LeverSet) -> None:
        """Apply the class's cgroup levers to the target."""

    @abstractmethod
    def restore(self, target: str, original: Mapping[str, Any], member: ProcKey | None) -> None:
        """Put a target back as `capture` found it (the actuator has checked `member` is alive)."""

    def describe(self, record: ProcessRecord, klass: PriorityClass, levers: LeverSet) -> str:
        """What `demote` would do, for --dry-run."""
        return f"{self.name}: {klass.value} cgroup levers ({levers.describe()}) for {record.pid}"

    def capabilities(self) -> dict[str, str]:
        """What works here and what does not, for `smoothdeskctl doctor`."""
        return {}

    def close(self, *, clean: bool) -> None:  # noqa: B027 - optional hook
        """Release resources; `clean` means nothing is demoted any more and state may be removed."""


def probe_cgroup_mode(sys_root: Path = Path("/sys")) -> CgroupMode:
    """v2 when the unified hierarchy owns the cpu controller, else v1 when a cpu hierarchy exists.

    A hybrid machine (this one: v1 cpu, an empty cgroup2 at /sys/fs/cgroup/unified) counts as v1.
    """
    fs = sys_root / "fs" / "cgroup"
    try:
        controllers = (fs / "cgroup.controllers").read_text().split()
    except OSError:
        controllers = []
    if "cpu" in controllers:
        return CgroupMode.V2
    for name in ("cpu", "cpu,cpuacct", "cpuacct,cpu"):
        if (fs / name / "cpu.shares").exists():
            return CgroupMode.V1
    return CgroupMode.NONE


def systemd_running(run_root: Path = Path("/run")) -> bool:
    """sd_booted(): systemd creates /run/systemd/system when it is PID 1."""
    return (run_root / "systemd" / "system").is_dir()


def select_backend(
    sys_root: Path = Path("/sys"),
    *,
    run_root: Path = Path("/run"),
    proc_root: Path = Path("/proc"),
    bus_address: str | None = None,
    user_mode: bool = False,
) -> CgroupBackend | None:
    """The backend for this machine: systemd on v2 with systemd, cgroupfs writes otherwise.

    In user mode only the user's systemd can help (cgroupfs belongs to root), so without
    systemd there is no cgroup lever at all.
    """
    mode = probe_cgroup_mode(sys_root)
    if mode is CgroupMode.V2 and systemd_running(run_root):
        from smoothdesk.actuator.systemd import SystemdBackend

        return SystemdBackend(bus_address=bus_address, user=user_mode)
    if user_mode:
        return None
    if mode is CgroupMode.V2:
        from smoothdesk.actuator.cgroup_fs import CgroupV2Backend

        return CgroupV2Backend(sys_root / "fs" / "cgroup", proc_root=proc_root)
    if mode is CgroupMode.V1:
        from smoothdesk.actuator.cgroup_fs import CgroupV1Backend

        fs = sys_root / "fs" / "cgroup"
        mount = next(fs / n for n in ("cpu", "cpu,cpuacct", "cpuacct,cpu") if (fs / n).is_dir())
        return CgroupV1Backend(mount, proc_root=proc_root)
    return None


def backend_for(setting: str, user_mode: bool) -> CgroupBackend | None:
    """The cgroup lever the config's actuator.cgroup asks for; 'auto' probes what this machine offers."""
    if setting == "off":
        return None
    if setting == "systemd":
        from smoothdesk.actuator.systemd import SystemdBackend

        return SystemdBackend(user=user_mode)
    if user_mode:
        # cgroupfs belongs to root; only the user's systemd could help, and 'auto' finds it.
        return select_backend(user_mode=True)
    if setting in ("v1", "v2"):
        from smoothdesk.actuator.cgroup_fs import CgroupV1Backend, CgroupV2Backend

        return CgroupV1Backend() if setting == "v1" else CgroupV2Backend(Path("/sys/fs/cgroup"))
    return select_backend()
