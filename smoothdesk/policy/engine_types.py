"""The policy engine's inputs, settings and memory (see engine.py for what it decides)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

from smoothdesk.core import AppGroup, Classification, Decision, Hints, Pin, ProcKey, Snapshot
from smoothdesk.core.engine_config import EngineConfig
from smoothdesk.core.ranker import Ranker
from smoothdesk.policy.guardrails import Baseline
from smoothdesk.policy.hysteresis import HeuristicTimer
from smoothdesk.policy.ranker import RuleOnlyRanker

if TYPE_CHECKING:
    from smoothdesk.policy.engine_memo import Memo

__all__ = ["EngineConfig", "GroupState", "PolicyInputs", "PolicyState", "clock_bound", "copied"]

K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class PolicyInputs:
    """Everything one decision round looks at.

    `groups` may be any subset of whole groups (the fast path decides only the groups new
    processes landed in): the state of groups not given is carried over untouched, and is
    forgotten only once none of the processes it last had is in the snapshot. The snapshot
    must then hold every process, as the collector's does.

    `partial=True` is for a fast path whose snapshot holds only some processes: nothing is
    pruned, and the noisy heuristic repeats its last verdict without advancing (CPU averages
    are a per-tick measure) and the ranker is not asked. Guardrails, pins, hints and rules
    act as in any round.

    `prune=False` skips forgetting dead groups and processes this round. Pruning looks at every
    process, so a caller deciding a few groups per tick prunes only now and then; it changes
    no decision, only how soon the state forgets the dead.
    """

    snapshot: Snapshot
    groups: Sequence[AppGroup]
    classifications: Mapping[int, Classification]
    now: float
    pins: Mapping[str, Pin] = field(default_factory=dict)
    hints: Hints = field(default_factory=Hints)
    config: EngineConfig = field(default_factory=EngineConfig)
    ranker: Ranker = field(default_factory=RuleOnlyRanker)
    user_mode_uid: int | None = None
    managed_keys: frozenset[ProcKey] = frozenset()
    own_pids: frozenset[int] = frozenset()
    paused: bool = False
    partial: bool = False
    prune: bool = True


@dataclass(frozen=True, slots=True)
class GroupState:
    """What the engine remembers about one group between rounds.

    `hinted`: the members that last held the focus or played audio (protected during the grace).
    `load`: the members the noisy heuristic demoted; kept while the group stays demoted, since a
    demoted process's CPU use falls and judging it afresh each round would flap.
    """

    timer: HeuristicTimer = field(default_factory=HeuristicTimer)
    last_focus: float | None = None
    last_audio: float | None = None
    members: frozenset[ProcKey] = frozenset()
    hinted: frozenset[ProcKey] = frozenset()
    load: frozenset[ProcKey] = frozenset()


_EMPTY: Mapping[Any, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class PolicyState:
    """The engine's memory: per-group timers, first-seen baselines, last decisions (read-only)."""

    groups: Mapping[str, GroupState] = field(default_factory=lambda: _EMPTY)
    baselines: Mapping[ProcKey, Baseline] = field(default_factory=lambda: _EMPTY)
    decisions: Mapping[str, Decision] = field(default_factory=lambda: _EMPTY)
    # The groups whose state is clock_bound, kept as the state changes so that a caller deciding
    # only what changed need not look at every group's state each tick.
    live: frozenset[str] = frozenset()
    # What each quiet group's inputs decided last (policy/engine_memo.py). A cache: two states
    # that differ only in it decide the same, so it is left out of comparisons.
    memo: Mapping[str, Memo] = field(default_factory=lambda: _EMPTY, compare=False, repr=False)


def clock_bound(gstate: GroupState) -> bool:
    """Whether a group's verdict can change with the clock alone: a heuristic timer running, or a
    focus or audio grace period."""
    return not gstate.timer.idle or gstate.last_focus is not None or gstate.last_audio is not None


def copied(mapping: Mapping[K, V]) -> dict[K, V]:
    """A dict copy of a state mapping: a read-only view's own copy() is a C-level dict copy, about
    20 times faster than dict(view) or {**view}, which go through the mapping protocol."""
    copy = getattr(mapping, "copy", None)
    return copy() if copy is not None else dict(mapping)
