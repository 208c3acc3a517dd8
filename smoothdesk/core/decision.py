"""What the policy engine returns, and the inputs it takes besides the snapshot."""

from __future__ import annotations

from dataclasses import dataclass, field

from smoothdesk.core.classes import PriorityClass


@dataclass(frozen=True, slots=True)
class Reason:
    """One link in a decision's reason chain: the stage that spoke and what it saw."""

    stage: str
    detail: str

    def __str__(self) -> str:
        return f"{self.stage}: {self.detail}"


@dataclass(frozen=True, slots=True)
class MemberClass:
    """A member of a group whose class differs from the app's: the load inside an app.

    `label` names what it is in a person's words (the rule's type, such as "compiler", or
    "busy process"); `reason` says why, including the ancestor it inherited the class from.
    """

    pid: int
    klass: PriorityClass
    label: str
    reason: Reason


@dataclass(frozen=True, slots=True)
class Decision:
    """The class chosen for one group, and for the members that are its load.

    `klass` is the app's own class: its leader's, and every member's not in `members`.
    `members` lists the processes a rule or the noisy heuristic picked (with the subtrees they
    started) whose class differs, so a build inside an editor demotes the compilers and not the
    editor. `manage` is False when a guardrail says the group must be left exactly as the user
    set it; the actuator then restores anything it changed and touches nothing more. `exempt`
    lists member pids a guardrail protects inside an otherwise managed group.
    """

    group_id: str
    klass: PriorityClass
    reasons: tuple[Reason, ...]
    manage: bool = True
    exempt: frozenset[int] = frozenset()
    members: tuple[MemberClass, ...] = ()

    @property
    def reason_text(self) -> str:
        return "; ".join(str(r) for r in self.reasons)

    def classes(self) -> dict[int, PriorityClass]:
        """The class of every member listed in `members` (the rest have `klass`)."""
        return {m.pid: m.klass for m in self.members}

    def class_of(self, pid: int) -> PriorityClass:
        for m in self.members:
            if m.pid == pid:
                return m.klass
        return self.klass

    @property
    def demotes(self) -> bool:
        """Whether the actuator lowers anything for this group."""
        if not self.manage:
            return False
        return self.klass.demoted or any(m.klass.demoted for m in self.members)

    @property
    def summary(self) -> str:
        """The app's class and its members' in a person's words: "normal · 9 compiler background"."""
        counts: dict[tuple[str, PriorityClass], int] = {}
        for m in self.members:
            counts[(m.label, m.klass)] = counts.get((m.label, m.klass), 0) + 1
        parts = [self.klass.value]
        for (label, klass), n in sorted(counts.items(), key=lambda kv: (kv[0][1].rank, kv[0][0])):
            parts.append(f"{n} {label}{'' if n == 1 else 'es' if label.endswith('s') else 's'} {klass.value}")
        return " · ".join(parts)


@dataclass(frozen=True, slots=True)
class Pin:
    """A user's choice of class for a group; `until` is a monotonic deadline or None for always."""

    group_id: str
    klass: PriorityClass
    until: float | None = None
    by_uid: int = 0


@dataclass(frozen=True, slots=True)
class Hints:
    """What the session agent reported: the focused process and the audio clients."""

    focused_pids: frozenset[int] = field(default_factory=frozenset)
    audio_pids: frozenset[int] = field(default_factory=frozenset)
