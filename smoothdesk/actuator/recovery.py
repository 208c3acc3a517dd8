"""Restore what a crashed run left: a journal in the run directory and nothing running."""

from __future__ import annotations

from pathlib import Path

from smoothdesk.actuator.actuator import Actuator
from smoothdesk.actuator.cgroups import CgroupBackend
from smoothdesk.actuator.report import ApplyReport


def recover(
    run_dir: Path,
    *,
    proc_root: Path = Path("/proc"),
    cgroup_backend: CgroupBackend | None = None,
) -> ApplyReport:
    """Restore from a journal a crashed run left in `run_dir` (no journal: nothing to do)."""
    actuator = Actuator(run_dir, proc_root=proc_root, cgroup_backend=cgroup_backend)
    try:
        return actuator.recover()
    finally:
        actuator.close()
