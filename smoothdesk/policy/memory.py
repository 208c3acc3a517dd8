"""Memory pressure: whom to protect, whom to name in an alert, and (opt-in only) whom to kill.

Pure: the caller passes memory PSI, the groups with their decisions and processes, and a
monotonic `now`. Protection starts when PSI "some" avg10 reaches the threshold and ends only
after it has stayed below half of it for `release_after` seconds, so a plan does not flap
with reclaim bursts. A kill is planned only when `kill` is set and PSI "full" avg10 has stayed
at or above its threshold for `kill_after` seconds; each kill restarts that wait.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from smoothdesk.core import AppGroup, Decision, PriorityClass, ProcessRecord, ProcKey

MiB = 1024 * 1024
# Classes whose groups are foreground by definition: never exposed, never killed.
_FOREGROUND = (PriorityClass.CRITICAL, PriorityClass.INTERACTIVE)


@dataclass(frozen=True, slots=True)
class MemorySettings:
    """The [memory] settings; `memory_low` in bytes (0: off).

    The options have no defaults here: the config schema holds them (build one with
    `from_section(defaults().values["memory"])`). The last two are not options.
    """

    protect: bool
    psi_some_threshold: float
    oom_score_adj: int
    memory_low: int
    kill: bool
    kill_psi_full_threshold: float
    kill_after: float
    release_after: float = 30.0
    expose_groups: int = 3

    @classmethod
    def from_section(cls, values: Mapping[str, Any]) -> MemorySettings:
        """From Settings.values["memory"] (memory_low there is in MiB)."""
        return cls(
            protect=bool(values["protect"]),
            psi_some_threshold=float(values["psi_some_threshold"]),
            oom_score_adj=int(values["oom_score_adj"]),
            memory_low=int(values["memory_low"]) * MiB,
            kill=bool(values["kill"]),
            kill_psi_full_threshold=float(values["kill_psi_full_threshold"]),
            kill_after=float(values["kill_after"]),
        )


@dataclass(frozen=True, slots=True)
class ProtectOrder:
    """Lower these processes' oom_score_adj to `oom_score_adj`; MemoryLow= on `unit` (0: no)."""

    group_id: str
    name: str
    keys: tuple[ProcKey, ...]
    oom_score_adj: int
    unit: str | None = None
    memory_low: int = 0


@dataclass(frozen=True, slots=True)
class ExposeOrder:
    """The fallback where lowering is refused: raise these processes' oom_score_adj instead."""

    group_id: str
    name: str
    keys: tuple[ProcKey, ...]
    oom_score_adj: int
    rss: int


@dataclass(frozen=True, slots=True)
class MemoryUser:
    """A group and the memory its members hold (RSS summed, so shared pages count per process)."""

    group_id: str
    name: str
    rss: int


@dataclass(frozen=True, slots=True)
class KillOrder:
    """SIGKILL these processes (each checked by start time first); `reason` goes to the log."""

    group_id: str
    name: str
    rss: int
    keys: tuple[ProcKey, ...]
    reason: str


@dataclass(frozen=True, slots=True)
class MemoryPlan:
    """What the actuator does about memory this tick. Inactive: give everything back."""

    active: bool
    psi_some: float
    psi_full: float
    protect: tuple[ProtectOrder, ...] = ()
    expose: tuple[ExposeOrder, ...] = ()
    largest: MemoryUser | None = None
    kill: KillOrder | None = None

    @property
    def alert(self) -> str | None:
        """The warning text while under pressure, naming the largest background memory user."""
        if not self.active:
            return None
        text = f"memory pressure: PSI some {self.psi_some:.0f}%, full {self.psi_full:.0f}%"
        if self.largest is not None:
            text += f"; largest background user: {self.largest.name} ({self.largest.rss // MiB} MiB)"
        return text


def _touchable(rec: ProcessRecord, decision: Decision | None, user_uid: int | None) -> bool:
    """The never-touch list as it applies to memory levers."""
    if rec.pid <= 1 or rec.kernel_thread or rec.realtime:
        return False
    if decision is not None and rec.pid in decision.exempt:
        return False
    return user_uid is None or rec.uid == user_uid


def _members(group: AppGroup, processes: Mapping[int, ProcessRecord]) -> list[ProcessRecord]:
    return [processes[p] for p in group.members if p in processes]


def _klass(decision: Decision | None) -> PriorityClass:
    return PriorityClass.NORMAL if decision is None else decision.klass


class MemoryGuard:
    """Holds the hysteresis and kill timers between ticks; `update` is the whole API."""

    def __init__(self, settings: MemorySettings, *, user_uid: int | None = None) -> None:
        self.settings = settings
        self.user_uid = user_uid
        self.active = False
        self._below_since: float | None = None
        self._full_since: float | None = None

    def update(
        self,
        now: float,
        psi_some: float,
        psi_full: float,
        *,
        focused: str | None,
        groups: Sequence[AppGroup],
        decisions: Mapping[str, Decision],
        processes: Mapping[int, ProcessRecord],
    ) -> MemoryPlan:
        """The plan for this tick. `focused` is the focused group's id (None: nothing focused)."""
        self._hysteresis(now, psi_some)
        kill_due = self._kill_due(now, psi_full)
        if not self.active:
            return MemoryPlan(False, psi_some, psi_full)
        background = self._background(focused, groups, decisions, processes)
        largest = background[0][1] if background else None
        protect = self._protect(focused, groups, decisions, processes) if self.settings.protect else ()
        expose = self._expose(background, decisions, processes) if self.settings.protect else ()
        kill = self._kill(background, decisions, processes, psi_full) if kill_due else None
        if kill is not None:
            self._full_since = now  # the next kill needs the condition to hold again for kill_after
        return MemoryPlan(True, psi_some, psi_full, protect, expose, largest, kill)

    def _hysteresis(self, now: float, some: float) -> None:
        threshold = self.settings.psi_some_threshold
        if some >= threshold:
            self.active, self._below_since = True, None
        elif self.active and some < threshold / 2:
            if self._below_since is None:
                self._below_since = now
            elif now - self._below_since >= self.settings.release_after:
                self.active, self._below_since = False, None
        else:
            self._below_since = None

    def _kill_due(self, now: float, full: float) -> bool:
        if full < self.settings.kill_psi_full_threshold:
            self._full_since = None
            return False
        if self._full_since is None:
            self._full_since = now
        return self.settings.kill and now - self._full_since >= self.settings.kill_after

    def _keys(
        self, group: AppGroup, decisions: Mapping[str, Decision], processes: Mapping[int, ProcessRecord]
    ) -> tuple[ProcKey, ...]:
        decision = decisions.get(group.id)
        return tuple(r.key for r in _members(group, processes) if _touchable(r, decision, self.user_uid))

    def _protect(
        self,
        focused: str | None,
        groups: Sequence[AppGroup],
        decisions: Mapping[str, Decision],
        processes: Mapping[int, ProcessRecord],
    ) -> tuple[ProtectOrder, ...]:
        out = []
        for group in groups:
            decision = decisions.get(group.id)
            is_focused = group.id == focused
            if not is_focused and _klass(decision) is not PriorityClass.CRITICAL:
                continue
            if decision is not None and not decision.manage:
                continue  # guardrailed: left exactly as the user set it
            keys = self._keys(group, decisions, processes)
            if not keys:
                continue
            low = self.settings.memory_low if is_focused and group.unit else 0
            out.append(ProtectOrder(group.id, group.name, keys, self.settings.oom_score_adj, group.unit, low))
        return tuple(out)

    def _background(
        self,
        focused: str | None,
        groups: Sequence[AppGroup],
        decisions: Mapping[str, Decision],
        processes: Mapping[int, ProcessRecord],
    ) -> list[tuple[AppGroup, MemoryUser]]:
        """Groups that are not foreground, largest RSS first."""
        found = []
        for group in groups:
            if group.id == focused or _klass(decisions.get(group.id)) in _FOREGROUND:
                continue
            rss = sum(r.rss for r in _members(group, processes))
            if rss > 0:
                found.append((group, MemoryUser(group.id, group.name, rss)))
        found.sort(key=lambda item: (-item[1].rss, item[0].id))
        return found

    def _expose(
        self,
        background: Sequence[tuple[AppGroup, MemoryUser]],
        decisions: Mapping[str, Decision],
        processes: Mapping[int, ProcessRecord],
    ) -> tuple[ExposeOrder, ...]:
        out: list[ExposeOrder] = []
        for group, user in background:
            decision = decisions.get(group.id)
            keys = self._keys(group, decisions, processes)
            if keys and (decision is None or decision.manage):
                out.append(ExposeOrder(group.id, user.name, keys, -self.settings.oom_score_adj, user.rss))
            if len(out) >= self.settings.expose_groups:
                break
        return tuple(out)

    def _kill(
        self,
        background: Sequence[tuple[AppGroup, MemoryUser]],
        decisions: Mapping[str, Decision],
        processes: Mapping[int, ProcessRecord],
        psi_full: float,
    ) -> KillOrder | None:
        """The largest background group every member of which may be killed."""
        for group, user in background:
            decision = decisions.get(group.id)
            if decision is not None and (not decision.manage or decision.exempt):
                continue
            members = _members(group, processes)
            if not members or not all(_touchable(r, decision, self.user_uid) for r in members):
                continue
            reason = (
                f"memory PSI full {psi_full:.0f}% >= {self.settings.kill_psi_full_threshold:.0f}% "
                f"for {self.settings.kill_after:.0f} s; largest background group {user.name} "
                f"({user.rss // MiB} MiB)"
            )
            return KillOrder(group.id, group.name, user.rss, tuple(r.key for r in members), reason)
        return None
