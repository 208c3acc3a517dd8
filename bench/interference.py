"""Notice when something else (another SmoothDesk helper on a shared machine) changes the bench's processes.

A helper started by someone else's test or benchmark demotes any busy "cc1plus" it sees, and with
it the autogroup of the session they share with the probe; a run during which that happened
measures that helper, not the variant. The state of the hogs and of the probe's session is taken
once the variant is applied and again when the probe is done; a run where it differs is dropped.
"""

from __future__ import annotations

import os
from pathlib import Path

from smoothdesk.actuator import syscalls as sc

PROC = Path("/proc")


def _cpu_cgroup(pid: int) -> str:
    for line in (PROC / str(pid) / "cgroup").read_text().splitlines():
        hid, ctrl, path = line.split(":", 2)
        if (hid == "0" and not ctrl) or "cpu" in ctrl.split(","):
            return path
    return ""


def _state(pid: int) -> tuple[int, str, str]:
    return os.getpriority(os.PRIO_PROCESS, pid), _cpu_cgroup(pid), (PROC / str(pid) / "autogroup").read_text()


def state(pids: list[int]) -> dict[int, tuple[int, str, str]]:
    """nice, cpu cgroup and autogroup line of each process (ours included) that is still there."""
    out = {}
    for pid in [os.getpid(), *pids]:
        try:
            out[pid] = _state(pid)
        except OSError:
            continue
    return out


def changed(before: dict[int, tuple[int, str, str]], pids: list[int]) -> list[str]:
    """What changed since `before`, in words; empty when nothing did."""
    now = state(pids)
    return [
        f"pid {pid}: {before[pid]} -> {now[pid]}" for pid in before if pid in now and now[pid] != before[pid]
    ]


def self_demoted(autogroup_nice: int = 0) -> str | None:
    """Why the bench itself is not neutral (someone demoted it, and so everything it starts), or None."""
    nice, cgroup, autogroup = _state(os.getpid())
    if nice != 0 or cgroup != "/" or not autogroup.rstrip().endswith(f" {autogroup_nice}"):
        return f"the bench itself is at nice {nice}, cgroup {cgroup}, {autogroup.strip()}"
    return None


def exempt_from_other_helpers() -> None:
    """For the hogs (as preexec_fn) and the bench itself: an explicit IO priority (best-effort 3;
    they do no IO to speak of) is what a user's `ionice` leaves, which the guardrails should keep
    other helpers off. Not always observed on this machine, hence `changed` on every run."""
    sc.set_ioprio(0, sc.ioprio_value(sc.IOPRIO_CLASS_BE, 3))


SHIELD_NICE = -20


def shield(pid: int) -> int:
    """Raise PID's whole session (autogroup) to nice -20 against the machine's other load; every
    session of the bench gets the same, so the weights between them stay as at 0. Returns the
    nice it had."""
    found = sc.read_autogroup(pid, PROC)
    if found is None:
        raise SystemExit("--shield: autogroups are off here")
    sc.write_autogroup_nice(pid, SHIELD_NICE, PROC)
    return found[1]
