"""Session agents' reports (focus, audio, idle) kept per reporting bus connection."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from smoothdesk.core.decision import Hints
from smoothdesk.core.process import ProcessRecord


@dataclass(slots=True)
class Report:
    """What one agent (one bus connection, one uid) said last; each pid maps to its start time."""

    uid: int
    focus: dict[int, int] = field(default_factory=dict)
    audio: dict[int, int] = field(default_factory=dict)
    idle_since: float | None = None


class ReportBook:
    """Per-connection reports, so one agent can neither clear another's focus nor outlive itself.

    The hints the engine sees are the union over live reporters; a reporter's entries go when its
    connection leaves the bus (`drop`) and each hinted process when it exits (`prune`).
    """

    def __init__(self) -> None:
        self.reports: dict[str, Report] = {}

    def _of(self, source: str, uid: int) -> Report:
        report = self.reports.get(source)
        if report is None or report.uid != uid:
            report = self.reports[source] = Report(uid)
        return report

    def set_focus(self, source: str, uid: int, focus: dict[int, int]) -> None:
        self._of(source, uid).focus = focus

    def set_audio(self, source: str, uid: int, audio: dict[int, int]) -> None:
        self._of(source, uid).audio = audio

    def set_idle(self, source: str, uid: int, seconds: float, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self._of(source, uid).idle_since = now - seconds

    def drop(self, source: str) -> bool:
        """Forget a reporter that left the bus; True if it had said anything."""
        return self.reports.pop(source, None) is not None

    def prune(self, procs: dict[int, ProcessRecord]) -> bool:
        """Forget hinted processes that exited, so a reused pid never inherits a hint."""

        def live(hinted: dict[int, int]) -> dict[int, int]:
            return {p: s for p, s in hinted.items() if p in procs and procs[p].start_time == s}

        changed = False
        for report in self.reports.values():
            focus, audio = live(report.focus), live(report.audio)
            if focus != report.focus or audio != report.audio:
                report.focus, report.audio = focus, audio
                changed = True
        return changed

    def hints(self) -> Hints:
        focus: set[int] = set()
        audio: set[int] = set()
        for report in self.reports.values():
            focus.update(report.focus)
            audio.update(report.audio)
        return Hints(frozenset(focus), frozenset(audio))

    def idle_seconds(self, now: float | None = None) -> float | None:
        """Input idle time of the most recently active reporting session; None if none reported."""
        now = time.monotonic() if now is None else now
        since = [r.idle_since for r in self.reports.values() if r.idle_since is not None]
        return max(0.0, now - max(since)) if since else None
