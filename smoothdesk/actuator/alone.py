"""Whether the helper competes for the CPU through a group of its own (see helper.main._yield_to_apps).

The kernel weighs a group at the root by the group's shares, not by its tasks' weights, so a
SCHED_IDLE task alone in its group keeps the group's full share; among other tasks it would get a
SCHED_IDLE task's weight (3 against nice 0's 1024) and starve behind them.
"""

from __future__ import annotations

import os
from pathlib import Path

from smoothdesk.actuator.selfreset import cgroup_mounts
from smoothdesk.actuator.syscalls import read_session


def alone_in_cpu_group(proc_root: Path = Path("/proc"), pid: int | None = None) -> bool:
    """Whether every task in this process's CPU group is of its session, which it leads.

    The CPU group is the cpu cgroup (v1, or v2 with the cpu controller enabled for it) when that is
    not the root, else the session's autogroup; with neither, the helper shares the root with all.
    """
    pid = os.getpid() if pid is None else pid
    me = proc_root / str(pid)
    try:
        if os.getsid(pid) != pid:
            return False
        group = _cpu_group(me)
        if group is None:
            autogroup = (proc_root / "sys/kernel/sched_autogroup_enabled").read_text().strip()
            return autogroup == "1"
        return all(_session_of(proc_root, p) in (pid, None) for p in _procs_below(group))
    except (OSError, ValueError):
        return False


def _cpu_group(me: Path) -> Path | None:
    """The directory of the non-root cpu cgroup this process is weighed through, or None."""
    mounts = cgroup_mounts(me)
    for line in (me / "cgroup").read_text().splitlines():
        hid, controllers, path = line.split(":", 2)
        if hid != "0" and "cpu" in controllers.split(","):
            root = next((m for m, fs, opts in mounts if fs == "cgroup" and "cpu" in opts), None)
            return None if root is None or path == "/" else Path(root + path)
        if hid == "0":
            root = next((m for m, fs, _ in mounts if fs == "cgroup2"), None)
            if root is None:
                continue
            # v2 without the cpu controller here: the nearest ancestor that has it weighs us.
            here = Path(root + path)
            while here != Path(root):
                if (here / "cpu.weight").exists():
                    return here
                here = here.parent
    return None


def _procs_below(group: Path) -> list[int]:
    found = []
    for dirpath, _dirs, files in os.walk(group):
        if "cgroup.procs" in files:
            found += [int(p) for p in Path(dirpath, "cgroup.procs").read_text().split()]
    return found


def _session_of(proc_root: Path, pid: int) -> int | None:
    """The session of a process, None once it is gone (it competes no more)."""
    try:
        return read_session(pid, proc_root)
    except ProcessLookupError:
        return None
