"""The cgroup lever's interface: what every backend does (cgroup_choice picks one for the machine)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

from smoothdesk.actuator.levers import LeverSet
from smoothdesk.core import PriorityClass, ProcessRecord, ProcKey

JsonDict = dict[str, Any]


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
