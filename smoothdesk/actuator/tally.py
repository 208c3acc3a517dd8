"""Per-subject outcomes of one actuator call, folded into an ApplyReport at the end."""

from __future__ import annotations

from smoothdesk.actuator.report import ApplyReport
from smoothdesk.actuator.syscalls import errno_kind

# A subject that both changed and then failed counts as failed; gone beats everything.
_RANK = {
    "skipped": 0,
    "changed": 1,
    "restored": 1,
    "errors": 2,
    "eperm": 3,
    "irreversible": 3,
    "deferred": 2,
    "esrch": 4,
}


class Tally:
    """One outcome per subject ("proc:PID@START", "autogroup:ID", a cgroup target)."""

    def __init__(self, dry_run: bool) -> None:
        self.outcomes: dict[str, str] = {}
        self.report = ApplyReport()
        self.dry_run = dry_run

    def mark(self, subject: str, outcome: str) -> None:
        old = self.outcomes.get(subject)
        if old is None or _RANK[outcome] > _RANK[old]:
            self.outcomes[subject] = outcome

    def error(self, subject: str, exc: OSError) -> None:
        kind = errno_kind(exc)
        self.mark(subject, "errors" if kind == "other" else kind)
        if kind == "other":
            self.report.notes.append(f"{subject}: {exc}")

    def action(self, text: str) -> None:
        self.report.dry_run_actions.append(text)

    def done(self) -> ApplyReport:
        for outcome in self.outcomes.values():
            setattr(self.report, outcome, getattr(self.report, outcome) + 1)
        return self.report
