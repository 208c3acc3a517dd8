"""What one apply() call means to change: per process (threads) and per cgroup target."""

from __future__ import annotations

from dataclasses import dataclass

from smoothdesk.actuator.levers import LeverSet
from smoothdesk.actuator.threads import ThreadChange
from smoothdesk.core import PriorityClass, ProcessRecord


@dataclass(slots=True)
class ProcPlan:
    rec: ProcessRecord
    klass: PriorityClass
    changes: list[ThreadChange]
    tids: frozenset[int]

    def describe(self) -> str:
        c = self.changes[0]
        parts = [
            f"{name} {getattr(c.current, name)} -> {getattr(c.target, name)}"
            for name in ("nice", "policy", "ioprio", "slice_ns", "slack_ns")
            if getattr(c.current, name) != getattr(c.target, name)
        ]
        return (
            f"{'demote' if self.klass.demoted else 'set'} {self.rec.pid} ({self.rec.comm}) "
            f"to {self.klass.value}: "
            f"{len(self.changes)} thread(s): {', '.join(parts)}"
        )


@dataclass(slots=True)
class CgroupPlan:
    target: str
    rec: ProcessRecord
    klass: PriorityClass
    levers: LeverSet
