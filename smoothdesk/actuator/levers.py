"""The lever table: what each priority class changes, and the only-lower rule that applies it.

PLACEHOLDER_MEASUREMENT_DOC
"""

from __future__ import annotations

import resource
from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

from smoothdesk.actuator.syscalls import (
    IOPRIO_CLASS_BE,
    IOPRIO_CLASS_IDLE,
    IOPRIO_CLASS_NONE,
    SCHED_RESET_ON_FORK,
    ThreadState,
    ioprio_split,
    ioprio_value,
)
from smoothdesk.core import PriorityClass
from smoothdesk.core.process import SCHED_BATCH, SCHED_IDLE, SCHED_OTHER

# How far each normal policy is from "gets the CPU first"; realtime and unknown policies are absent
# on purpose: a thread running under them is never touched.
_POLICY_RANK = {SCHED_OTHER: 0, SCHED_BATCH: 1, SCHED_IDLE: 2}


@dataclass(frozen=True, slots=True)
class LeverSet:
    """The levers one class pulls; None leaves that lever alone.

    `ioprio` is (class, level); `cpu_weight` and `io_weight` are on the cgroup v2 scale 1..10000
    (100 is the default; cgroup v1 cpu.shares = weight * 1024 / 100).
    """

    nice: int | None = None
    policy: int | None = None
    ioprio: tuple[int, int] | None = None
    autogroup_nice: int | None = None
    cpu_weight: int | None = None
    cpu_idle: bool | None = None
    io_weight: int | None = None

    @property
    def touches_threads(self) -> bool:
        return self.nice is not None or self.policy is not None or self.ioprio is not None

    @property
    def touches_cgroup(self) -> bool:
        return bool(self.cpu_weight or self.cpu_idle or self.io_weight)

    def describe(self) -> str:
        parts = [f"{k}={getattr(self, k)}" for k in self.__slots__ if getattr(self, k) is not None]
        return ", ".join(parts) or "nothing"


NO_LEVERS = LeverSet()

DEFAULT_LEVERS: Mapping[PriorityClass, LeverSet] = MappingProxyType(
    {
        PriorityClass.CRITICAL: NO_LEVERS,
        PriorityClass.INTERACTIVE: NO_LEVERS,
        PriorityClass.NORMAL: NO_LEVERS,
        PriorityClass.BACKGROUND: LeverSet(
            nice=10,
            policy=SCHED_BATCH,
            ioprio=(IOPRIO_CLASS_BE, 7),
            autogroup_nice=10,
            cpu_weight=10,
            cpu_idle=None,
            io_weight=10,
        ),
        PriorityClass.IDLE: LeverSet(
            nice=19,
            policy=SCHED_IDLE,
            ioprio=(IOPRIO_CLASS_BE, 7),
            autogroup_nice=19,
            cpu_weight=1,
            cpu_idle=True,
            io_weight=1,
        ),
    }
)


def _io_key(value: int, nice: int) -> tuple[int, int] | None:
    """Order ioprio values by how low they are; None for realtime IO (never lowered)."""
    klass, level = ioprio_split(value)
    if klass == IOPRIO_CLASS_NONE:
        return IOPRIO_CLASS_BE, (nice + 20) // 5
    if klass in (IOPRIO_CLASS_BE, IOPRIO_CLASS_IDLE):
        return klass, level if klass == IOPRIO_CLASS_BE else 0
    return None


def thread_target(original: ThreadState, levers: LeverSet) -> ThreadState:
    """The state a thread should have: each lever moves only downwards from the original.

    A realtime thread is returned unchanged, whatever the levers say.
    """
    flags = original.policy & SCHED_RESET_ON_FORK
    base = original.policy & ~SCHED_RESET_ON_FORK
    if base not in _POLICY_RANK:
        return original
    nice = original.nice if levers.nice is None else max(original.nice, levers.nice)
    policy = base
    if levers.policy is not None and _POLICY_RANK[levers.policy] > _POLICY_RANK[base]:
        policy = levers.policy
    ioprio = original.ioprio
    if levers.ioprio is not None:
        wanted = ioprio_value(*levers.ioprio)
        have, want = _io_key(original.ioprio, original.nice), _io_key(wanted, nice)
        if have is not None and want is not None and want > have:
            ioprio = wanted
    return ThreadState(nice, policy | flags, ioprio)


def _restorable_nice(original_nice: int, rlimit_nice: int) -> bool:
    """can_nice(): an unprivileged thread may go back to nice n only if 20 - n <= RLIMIT_NICE."""
    return 20 - original_nice <= rlimit_nice


def user_mode_levers(
    table: Mapping[PriorityClass, LeverSet], rlimit_nice: int | None = None
) -> dict[PriorityClass, LeverSet]:
    """Keep only levers an unprivileged owner can undo.

    Without CAP_SYS_NICE, going back to a higher priority nice needs RLIMIT_NICE (default 0, so
    never), and leaving SCHED_IDLE needs the current nice within RLIMIT_NICE too (kernel
    __sched_setscheduler). SCHED_BATCH, ioprio (BE and idle classes) and an autogroup nice >= 0
    can be undone by the owner, so those stay; nice is dropped and SCHED_IDLE becomes SCHED_BATCH
    unless the limit allows going back to nice 0.
    """
    if rlimit_nice is None:
        rlimit_nice = resource.getrlimit(resource.RLIMIT_NICE)[0]
        rlimit_nice = 40 if rlimit_nice == resource.RLIM_INFINITY else rlimit_nice
    lenient = _restorable_nice(0, rlimit_nice)
    out: dict[PriorityClass, LeverSet] = {}
    for klass, levers in table.items():
        if not lenient:
            policy = SCHED_BATCH if levers.policy == SCHED_IDLE else levers.policy
            levers = replace(levers, nice=None, policy=policy)
        out[klass] = levers
    return out
