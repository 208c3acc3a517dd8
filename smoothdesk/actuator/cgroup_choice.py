"""The one place that chooses the cgroup backend: from the config's actuator.cgroup and the layout
the helper probed (core.cgroup_layout), so the actuator never probes /sys/fs/cgroup itself.

It sits above the backends it builds (cgroups.py is only their interface), which keeps the
actuator's imports free of cycles.
"""

from __future__ import annotations

from pathlib import Path

from smoothdesk.actuator.cgroup_fs import CgroupV1Backend, CgroupV2Backend
from smoothdesk.actuator.cgroups import CgroupBackend
from smoothdesk.actuator.systemd import SystemdBackend
from smoothdesk.core.cgroup_layout import CgroupLayout


def systemd_running(run_root: Path = Path("/run")) -> bool:
    """sd_booted(): systemd creates /run/systemd/system when it is PID 1."""
    return (run_root / "systemd" / "system").is_dir()


def backend_for(
    setting: str,
    layout: CgroupLayout,
    *,
    user_mode: bool,
    run_root: Path = Path("/run"),
    proc_root: Path = Path("/proc"),
    bus_address: str | None = None,
) -> CgroupBackend | None:
    """The cgroup lever actuator.cgroup asks for: off, systemd, v1, v2 or auto.

    auto: systemd where the unified root owns the cpu controller and systemd runs, else cgroupfs
    writes (v2, else a v1 cpu hierarchy), else none. In user mode only the user's systemd can
    help (cgroupfs belongs to root), so v1 and v2 count as auto there, and without systemd on
    cgroup v2 there is no cgroup lever at all.
    """
    if setting == "off":
        return None
    forced = setting == "systemd" or (setting in ("v1", "v2") and not user_mode)
    choice = setting if forced else auto_choice(layout, run_root)
    if choice == "systemd":
        return SystemdBackend(bus_address=bus_address, user=user_mode)
    if user_mode or choice == "off":
        return None
    if choice == "v1":
        return CgroupV1Backend(layout.v1_cpu or layout.root / "cpu", proc_root=proc_root)
    return CgroupV2Backend(layout.root, proc_root=proc_root)


def auto_choice(layout: CgroupLayout, run_root: Path = Path("/run")) -> str:
    """What 'auto' picks here: systemd, v2, v1 or off."""
    if layout.cpu_lever == "v2" and systemd_running(run_root):
        return "systemd"
    return "off" if layout.cpu_lever == "none" else layout.cpu_lever
