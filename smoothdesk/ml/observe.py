"""Builds the per-tick GroupObservation rows from core types, and tracks focus history per group.

Pure: it reads core values and the tracker's memory, never the system. The helper calls it once
per tick; the synthetic trace generator calls the very same code, so both log alike rows.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from smoothdesk.core import AppGroup, Classification, Decision, Hints, Snapshot
from smoothdesk.core.group import owners
from smoothdesk.core.observation import GroupObservation

FOCUS_WINDOW_S = 3600.0
# One "input" event per group this often at most: the label looks a minute ahead, so finer
# grain would only grow the log.
INPUT_EVERY_S = 10.0
# /proc start times are in USER_HZ, which is 100 on every Linux the helper runs on.
CLOCK_TICKS = 100
# observe() forgets dead groups this often (each build job is a new group).
RETAIN_EVERY_S = 600.0


@dataclass(frozen=True, slots=True)
class FocusEvent:
    """A row for the store's focus log: kind is "focus", "input" or "audio"."""

    ts: float
    group_id: str
    pid: int
    kind: str


@dataclass(slots=True)
class _GroupHistory:
    last_focus: float | None = None
    last_audio: float | None = None
    last_input_event: float | None = None
    focus_changes: deque[float] = field(default_factory=deque)


class FocusTracker:
    """Per group: when it last had focus and audio, and how often focus moved to it in the last hour.

    Times are wall-clock seconds (the observation's `ts`). `update` returns the focus events the
    store should log for this tick: focus moving to a group, audio starting, and input in the
    focused group (rate-limited to one per INPUT_EVERY_S).
    """

    def __init__(self) -> None:
        self._groups: dict[str, _GroupHistory] = {}
        self._focused: str | None = None
        self._audio: frozenset[str] = frozenset()
        self.retained_at: float | None = None

    def update(
        self,
        now: float,
        focused: tuple[str, int] | None,
        audio: Mapping[str, int],
        input_active: bool = False,
    ) -> list[FocusEvent]:
        """Record one tick: the focused (group id, pid) if any, and audio group id -> pid."""
        events: list[FocusEvent] = []
        focused_id = focused[0] if focused is not None else None
        if focused is not None:
            gid, pid = focused
            h = self._history(gid)
            if gid != self._focused:
                h.focus_changes.append(now)
                events.append(FocusEvent(now, gid, pid, "focus"))
            h.last_focus = now
            if input_active and (h.last_input_event is None or now - h.last_input_event >= INPUT_EVERY_S):
                h.last_input_event = now
                events.append(FocusEvent(now, gid, pid, "input"))
        elif self._focused is not None:
            # Focus left every group (locked screen, desktop): logged so the label knows it ended.
            events.append(FocusEvent(now, "", 0, "focus"))
        for gid in sorted(audio):
            h = self._history(gid)
            if gid not in self._audio:
                events.append(FocusEvent(now, gid, audio[gid], "audio"))
            h.last_audio = now
        self._focused, self._audio = focused_id, frozenset(audio)
        return events

    def seconds_since_focus(self, group_id: str, now: float) -> float:
        h = self._groups.get(group_id)
        return -1.0 if h is None or h.last_focus is None else max(0.0, now - h.last_focus)

    def seconds_since_audio(self, group_id: str, now: float) -> float:
        h = self._groups.get(group_id)
        return -1.0 if h is None or h.last_audio is None else max(0.0, now - h.last_audio)

    def focus_count_1h(self, group_id: str, now: float) -> int:
        h = self._groups.get(group_id)
        if h is None:
            return 0
        while h.focus_changes and h.focus_changes[0] <= now - FOCUS_WINDOW_S:
            h.focus_changes.popleft()
        return len(h.focus_changes)

    def __len__(self) -> int:
        return len(self._groups)

    def retain(self, live: set[str], now: float) -> None:
        """Forget groups that are gone and were not focused within the window."""
        self.retained_at = now
        for gid in [g for g in self._groups if g not in live]:
            if self.focus_count_1h(gid, now) == 0:
                del self._groups[gid]

    def _history(self, group_id: str) -> _GroupHistory:
        h = self._groups.get(group_id)
        if h is None:
            h = self._groups[group_id] = _GroupHistory()
        return h


def group_rule_type(group: AppGroup, classifications: Mapping[int, Classification]) -> str:
    """The leader's classifier type, else the first classified member's, else ""."""
    leader = classifications.get(group.leader)
    if leader is not None:
        return leader.type
    for pid in group.members:
        c = classifications.get(pid)
        if c is not None:
            return c.type
    return ""


def hinted(groups: Sequence[AppGroup], pids: frozenset[int]) -> dict[str, int]:
    """Group id -> one hinted pid, for the groups holding any of `pids`."""
    out: dict[str, int] = {}
    if not pids:
        return out
    index = owners(groups)
    for pid in pids:
        g = index.get(pid)
        if g is not None:
            out[g.id] = min(out.get(g.id, pid), pid)
    return out


@dataclass(frozen=True, slots=True)
class Tick:
    """What one tick's tracking saw: the time, the focused group, the audio groups."""

    now: float
    focused_id: str | None
    audio: frozenset[str]


def track(
    snapshot: Snapshot,
    groups: Sequence[AppGroup],
    hints: Hints,
    *,
    tracker: FocusTracker,
    wall: float | None = None,
    input_active: bool = False,
) -> tuple[Tick, list[FocusEvent]]:
    """Advance `tracker` by one tick; the focus events to log. Cheap: the rows are rows_for()'s."""
    now = snapshot.wall if wall is None else wall
    audio = hinted(groups, hints.audio_pids)
    # Two groups can hold focused pids only through a stale hint; the lowest id wins, stably.
    focused = min(hinted(groups, hints.focused_pids).items(), default=None)
    events = tracker.update(now, focused, audio, input_active)
    if tracker.retained_at is None or now - tracker.retained_at >= RETAIN_EVERY_S:
        tracker.retain({g.id for g in groups}, now)
    return Tick(now, focused[0] if focused is not None else None, frozenset(audio)), events


def rows_for(
    tick: Tick,
    snapshot: Snapshot,
    groups: Sequence[AppGroup],
    classifications: Mapping[int, Classification],
    decisions: Mapping[str, Decision],
    *,
    tracker: FocusTracker,
) -> list[GroupObservation]:
    """One row per group, as of `tick` (call it before the tracker moves on to the next tick).

    `decisions` gives each row's `klass` (a group without one gets ""); features never read it.
    """
    now, procs = tick.now, snapshot.processes
    rows: list[GroupObservation] = []
    for g in groups:
        members = [procs[p] for p in g.members if p in procs]
        oldest = min((p.start_time for p in members), default=0)
        decision = decisions.get(g.id)
        rows.append(
            GroupObservation(
                ts=now,
                group_id=g.id,
                name=g.name,
                kind=g.kind,
                uid=g.uid,
                klass=decision.klass.value if decision is not None else "",
                rule_type=group_rule_type(g, classifications),
                n_procs=len(members),
                n_threads=sum(p.threads for p in members),
                cpu_tick=sum(p.cpu_tick for p in members),
                cpu_10s=sum(p.cpu_10s for p in members),
                rss_bytes=sum(p.rss for p in members),
                io_read_rate=sum(p.io_read_rate for p in members),
                io_write_rate=sum(p.io_write_rate for p in members),
                age_s=max(0.0, snapshot.monotonic - oldest / CLOCK_TICKS) if members else 0.0,
                has_tty=any(p.tty != 0 for p in members),
                focused=g.id == tick.focused_id,
                audio=g.id in tick.audio,
                seconds_since_focus=tracker.seconds_since_focus(g.id, now),
                seconds_since_audio=tracker.seconds_since_audio(g.id, now),
                focus_count_1h=tracker.focus_count_1h(g.id, now),
            )
        )
    return rows


def observe(
    snapshot: Snapshot,
    groups: Sequence[AppGroup],
    classifications: Mapping[int, Classification],
    decisions: Mapping[str, Decision],
    hints: Hints,
    *,
    tracker: FocusTracker,
    wall: float | None = None,
    input_active: bool = False,
) -> tuple[list[GroupObservation], list[FocusEvent]]:
    """track() then rows_for(): one row per group for this tick, and the focus events to log."""
    tick, events = track(snapshot, groups, hints, tracker=tracker, wall=wall, input_active=input_active)
    return rows_for(tick, snapshot, groups, classifications, decisions, tracker=tracker), events


def with_classes(
    rows: Sequence[GroupObservation], decisions: Mapping[str, Decision]
) -> list[GroupObservation]:
    """The rows with `klass` set from this tick's decisions (features do not read it)."""
    return [
        replace(r, klass=decisions[r.group_id].klass.value) if r.group_id in decisions else r for r in rows
    ]
