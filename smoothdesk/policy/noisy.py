"""The noisy-neighbour heuristic: is a group eating CPU while others wait for it?"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from smoothdesk.core import AppGroup, ProcessRecord, SystemStats


@dataclass(frozen=True, slots=True)
class GroupLoad:
    """A group's CPU use in percent of one core: averaged over 10 s and over the last tick."""

    cpu_10s: float
    cpu_tick: float


def group_load(
    group: AppGroup, processes: Mapping[int, ProcessRecord], exempt: Collection[int] = ()
) -> GroupLoad:
    """Sum the members' CPU; exempt members are the user's business, not the group's."""
    cpu_10s = cpu_tick = 0.0
    for pid in group.members:
        proc = processes.get(pid)
        if proc is not None and pid not in exempt:
            cpu_10s += proc.cpu_10s
            cpu_tick += proc.cpu_tick
    return GroupLoad(cpu_10s, cpu_tick)


def others_waiting(system: SystemStats, psi_percent: float, busy_percent: float) -> tuple[bool, str]:
    """Whether runnable work is queueing for the CPU, and the figure that shows it.

    Any of: CPU PSI "some" avg10 at or above `psi_percent`; more runnable tasks than CPUs;
    the machine at or above `busy_percent`. These are machine-wide figures, so a group's
    own threads queueing behind each other count too (a `make -j8` on two cores qualifies).
    """
    psi = system.psi_value("cpu", "some", "avg10")
    if psi >= psi_percent:
        return True, f"CPU PSI some {psi:.0f}%"
    if system.running > max(system.ncpu, 1):
        return True, f"{system.running} runnable on {system.ncpu} CPUs"
    if system.cpu_busy >= busy_percent:
        return True, f"CPU {system.cpu_busy:.0f}% busy"
    return False, f"nothing waits (CPU PSI some {psi:.0f}%)"


@dataclass(frozen=True, slots=True)
class NoisyVerdict:
    """`hot`: demotion condition holds; `fast`: the last tick alone was enough; `cool`: quiet."""

    hot: bool
    fast: bool
    cool: bool
    detail: str


def judge(
    load: GroupLoad,
    waiting: bool,
    waiting_detail: str,
    *,
    threshold: float,
    fast_threshold: float,
    release_threshold: float,
) -> NoisyVerdict:
    """Compare a group's load with the thresholds (percent of one core)."""
    fast = load.cpu_tick >= fast_threshold
    over = load.cpu_10s >= threshold or fast
    hot = over and waiting
    cool = load.cpu_10s < release_threshold and load.cpu_tick < release_threshold
    if hot:
        window = "over the last tick" if fast and load.cpu_10s < threshold else "over 10 s"
        figure = load.cpu_tick if window == "over the last tick" else load.cpu_10s
        detail = f"{figure:.0f}% CPU {window} while {waiting_detail}"
    elif over:
        detail = f"{load.cpu_10s:.0f}% CPU over 10 s but {waiting_detail}"
    else:
        detail = f"{load.cpu_10s:.0f}% CPU over 10 s (threshold {threshold:.0f}%)"
    return NoisyVerdict(hot, fast and hot, cool, detail)
