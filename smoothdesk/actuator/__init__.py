"""The only code that changes the system: levers, journal of originals, rollback."""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from smoothdesk.actuator.actuator import Actuator
    from smoothdesk.actuator.cgroup_choice import auto_choice, backend_for, systemd_running
    from smoothdesk.actuator.cgroup_fs import CgroupV1Backend, CgroupV2Backend
    from smoothdesk.actuator.cgroups import CgroupBackend
    from smoothdesk.actuator.errors import ActuatorError
    from smoothdesk.actuator.journal import Journal, default_run_dir
    from smoothdesk.actuator.levers import DEFAULT_LEVERS, LeverSet, thread_target, user_mode_levers
    from smoothdesk.actuator.memory import MemoryOrders, MemoryReport
    from smoothdesk.actuator.recovery import recover
    from smoothdesk.actuator.report import ApplyReport
    from smoothdesk.actuator.systemd import SystemdBackend

# Loaded at first use: the helper's clean start imports actuator.selfreset before anything else
# (a demoted helper runs at a tiny share of the CPU until then), and a package that loaded every
# backend, the journal and D-Bus here made that import cost seconds.
_WHERE = {
    "Actuator": "smoothdesk.actuator.actuator",
    "auto_choice": "smoothdesk.actuator.cgroup_choice",
    "backend_for": "smoothdesk.actuator.cgroup_choice",
    "systemd_running": "smoothdesk.actuator.cgroup_choice",
    "CgroupV1Backend": "smoothdesk.actuator.cgroup_fs",
    "CgroupV2Backend": "smoothdesk.actuator.cgroup_fs",
    "CgroupBackend": "smoothdesk.actuator.cgroups",
    "ActuatorError": "smoothdesk.actuator.errors",
    "Journal": "smoothdesk.actuator.journal",
    "default_run_dir": "smoothdesk.actuator.journal",
    "DEFAULT_LEVERS": "smoothdesk.actuator.levers",
    "LeverSet": "smoothdesk.actuator.levers",
    "thread_target": "smoothdesk.actuator.levers",
    "user_mode_levers": "smoothdesk.actuator.levers",
    "MemoryOrders": "smoothdesk.actuator.memory",
    "MemoryReport": "smoothdesk.actuator.memory",
    "recover": "smoothdesk.actuator.recovery",
    "ApplyReport": "smoothdesk.actuator.report",
    "SystemdBackend": "smoothdesk.actuator.systemd",
}


def __getattr__(name: str) -> object:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(where), name)
    globals()[name] = value
    return value


__all__ = [
    "DEFAULT_LEVERS",
    "Actuator",
    "ActuatorError",
    "ApplyReport",
    "CgroupBackend",
    "CgroupV1Backend",
    "CgroupV2Backend",
    "Journal",
    "LeverSet",
    "MemoryOrders",
    "MemoryReport",
    "SystemdBackend",
    "auto_choice",
    "backend_for",
    "default_run_dir",
    "recover",
    "systemd_running",
    "thread_target",
    "user_mode_levers",
]
