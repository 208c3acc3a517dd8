"""The only code that changes the system: levers, journal of originals, rollback."""

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
