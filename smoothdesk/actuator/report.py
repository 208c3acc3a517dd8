"""What one apply/restore call did, counted, plus the would-do list of a dry run."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class ApplyReport:
    """Counts are of processes (or autogroups, or cgroup targets), not of threads.

    `esrch`: gone before or while we acted; `eperm`: refused (not ours, not allowed);
    `irreversible`: restores the kernel refused (user mode), also listed in `notes`;
    `deferred`: rate-limited autogroup writes that the next call retries.
    """

    changed: int = 0
    restored: int = 0
    skipped: int = 0
    esrch: int = 0
    eperm: int = 0
    errors: int = 0
    irreversible: int = 0
    deferred: int = 0
    dry_run_actions: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def merge(self, other: ApplyReport) -> None:
        for name in ("changed", "restored", "skipped", "esrch", "eperm", "errors"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.irreversible += other.irreversible
        self.deferred += other.deferred
        self.dry_run_actions.extend(other.dry_run_actions)
        self.notes.extend(other.notes)
