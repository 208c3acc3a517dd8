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
class Decision:
    """The class chosen for one group.

    `manage` is False when a guardrail says the group must be left exactly as
    the user set it; the actuator then restores anything it changed and
    touches nothing more. `exempt` lists member pids a guardrail protects
    inside an otherwise managed group.
    """

    group_id: str
    klass: PriorityClass
    reasons: tuple[Reason, ...]
    manage: bool = True
    exempt: frozenset[int] = frozenset()

    @property
    def reason_text(self) -> str:
        return "; ".join(str(r) for r in self.reasons)


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
