"""Session agents' reports (focus, audio, idle, audio xruns) kept per reporting bus connection."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from smoothdesk.core.decision import Hints
from smoothdesk.core.group import AppGroup
from smoothdesk.core.process import ProcessRecord
from smoothdesk.dbus.procref import start_time


@dataclass(slots=True)
class Report:
    """What one agent (one bus connection, one uid) said last; each pid maps to its start time."""

    uid: int
    focus: dict[int, int] = field(default_factory=dict)
    audio: dict[int, int] = field(default_factory=dict)
    idle_since: float | None = None
    xrun_source: str = ""  # where the agent counts xruns; "" : it has no source
    xruns: int = 0  # reported since the last tick took them
    xrun_pids: dict[int, int] = field(default_factory=dict)
    unknown: dict[str, str] = field(default_factory=dict)  # "focus", "audio", "idle" -> why not measured


@dataclass(frozen=True, slots=True)
class Xruns:
    """One tick's audio xruns over every agent with a source, and the part named per process."""

    count: int
    by_pid: dict[int, int]


class ReportBook:
    """Per-connection reports, so one agent can neither clear another's focus nor outlive itself.

    The hints the engine sees are the union over live reporters; a reporter's entries go when its
    connection leaves the bus (`drop`) and each hinted process when it exits (`prune`).
    """

    def __init__(self) -> None:
        self.reports: dict[str, Report] = {}
        self.current = Hints()  # the hints as of the last refresh()

    def refresh(self) -> bool:
        """Recompute the hints from what is reported now; True if they changed."""
        hints = self.hints()
        changed, self.current = hints != self.current, hints
        return changed

    def _of(self, source: str, uid: int) -> Report:
        report = self.reports.get(source)
        if report is None or report.uid != uid:
            report = self.reports[source] = Report(uid)
        return report

    def set_focus(self, source: str, uid: int, focus: dict[int, int]) -> None:
        report = self._of(source, uid)
        report.focus = focus
        report.unknown.pop("focus", None)

    def set_audio(self, source: str, uid: int, audio: dict[int, int]) -> None:
        report = self._of(source, uid)
        report.audio = audio
        report.unknown.pop("audio", None)

    def set_unknown(self, source: str, uid: int, kind: str, reason: str) -> None:
        """The agent cannot tell its focus, audio or idle time now: nothing of that kind counts
        from it (no hint, no idle time), and the reason is kept."""
        report = self._of(source, uid)
        if kind == "focus":
            report.focus = {}
        elif kind == "audio":
            report.audio = {}
        else:
            report.idle_since = None
        report.unknown[kind] = reason

    def unknown(self) -> list[str]:
        """What some agent cannot measure now, as "audio: why" lines (empty while all measure)."""
        return sorted(f"{kind}: {why}" for r in self.reports.values() for kind, why in r.unknown.items())

    def set_idle(self, source: str, uid: int, seconds: float, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        report = self._of(source, uid)
        report.idle_since = now - seconds
        report.unknown.pop("idle", None)

    def set_xruns(self, source: str, uid: int, name: str, count: int, by_pid: dict[int, int]) -> None:
        report = self._of(source, uid)
        report.xrun_source = name
        report.xruns += count
        for pid, n in by_pid.items():
            report.xrun_pids[pid] = report.xrun_pids.get(pid, 0) + n

    def take_xruns(self) -> Xruns | None:
        """The xruns reported since the last call, then zeroed; None when no agent has a source,
        so that "nobody counts" never reads as "0 xruns"."""
        counting = [r for r in self.reports.values() if r.xrun_source]
        if not counting:
            return None
        by_pid: dict[int, int] = {}
        for report in counting:
            for pid, n in report.xrun_pids.items():
                by_pid[pid] = by_pid.get(pid, 0) + n
        out = Xruns(sum(r.xruns for r in counting), by_pid)
        for report in self.reports.values():
            report.xruns, report.xrun_pids = 0, {}
        return out

    def drop(self, source: str) -> bool:
        """Forget a reporter that left the bus; True if it had said anything."""
        return self.reports.pop(source, None) is not None

    def prune(self, procs: dict[int, ProcessRecord], proc_root: Path = Path("/proc")) -> bool:
        """Forget hinted processes that exited, so a reused pid never inherits a hint.

        A process the table has not read yet (a window opened since the last sweep) is asked of
        the kernel: the agent reports a focus once, so dropping it would lose it for good.
        """

        def alive(pid: int, start: int) -> bool:
            if pid in procs:
                return procs[pid].start_time == start
            return start_time(pid, proc_root) == start

        def live(hinted: dict[int, int]) -> dict[int, int]:
            return {p: s for p, s in hinted.items() if alive(p, s)}

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

    def idle_since(self) -> float | None:
        """When the most recently active reporting session last had input; None if none reported."""
        since = [r.idle_since for r in self.reports.values() if r.idle_since is not None]
        return max(since) if since else None

    def idle_seconds(self, now: float | None = None) -> float | None:
        """Input idle time of the most recently active reporting session; None if none reported."""
        now = time.monotonic() if now is None else now
        since = self.idle_since()
        return None if since is None else max(0.0, now - since)


def xrun_apps(xruns: Xruns | None, groups: Sequence[AppGroup]) -> dict[str, int]:
    """The named part of a tick's xruns per app group name (a pid no group holds: by pid)."""
    if xruns is None or not xruns.by_pid:
        return {}
    owner = {pid: g.name for g in groups for pid in g.members if pid in xruns.by_pid}
    out: dict[str, int] = {}
    for pid, n in xruns.by_pid.items():
        name = owner.get(pid, f"pid {pid}")
        out[name] = out.get(name, 0) + n
    return out
