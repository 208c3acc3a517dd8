"""The policy engine's inputs, settings and memory (see engine.py for what it decides)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any

from smoothdesk.core import AppGroup, Classification, Decision, Hints, Pin, ProcKey, Snapshot
from smoothdesk.core.ranker import Ranker
from smoothdesk.policy.guardrails import Baseline
from smoothdesk.policy.hysteresis import HeuristicTimer, Timing
from smoothdesk.policy.ranker import RuleOnlyRanker


def _opt(default: float, doc: str) -> float:
    return field(default=default, metadata={"doc": doc})


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Engine tunables; CPU figures are percent of one core, times are seconds."""

    noisy_cpu_percent: float = _opt(70.0, "Group CPU over 10 s that counts as noisy.")
    fast_cpu_percent: float = _opt(90.0, "Group CPU over the last tick that counts as noisy.")
    release_cpu_percent: float = _opt(30.0, "A demoted group is quiet below this.")
    wait_psi_percent: float = _opt(5.0, "Others wait when CPU PSI some avg10 reaches this.")
    wait_busy_percent: float = _opt(90.0, "...or the whole machine is this busy.")
    demote_after: float = _opt(2.0, "Seconds the noisy condition must hold to demote.")
    fast_demote_after: float = _opt(0.5, "...when the last tick alone was over the fast mark.")
    release_after: float = _opt(10.0, "Seconds a demoted group must stay quiet to be released.")
    min_dwell: float = _opt(5.0, "Least seconds between two heuristic changes of a group.")
    focus_grace: float = _opt(5.0, "Seconds a group stays INTERACTIVE after losing focus.")
    audio_grace: float = _opt(5.0, "Seconds a group stays an audio client after going quiet.")
    ranker_keep_score: float = _opt(0.8, "A ranker score this high withholds noisy demotion.")
    ranker_eager_score: float = _opt(0.1, "A ranker score this low lowers the noisy threshold.")
    ranker_eager_factor: float = _opt(0.5, "...multiplying it by this factor.")

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"engine.{f.name} must be a finite number >= 0, not {value!r}")
        if self.release_cpu_percent >= self.noisy_cpu_percent:
            raise ValueError("engine.release_cpu_percent must be below engine.noisy_cpu_percent")
        if not 0 <= self.ranker_eager_score < self.ranker_keep_score <= 1:
            raise ValueError("engine: need 0 <= ranker_eager_score < ranker_keep_score <= 1")
        if not 0 < self.ranker_eager_factor <= 1:
            raise ValueError("engine.ranker_eager_factor must be in (0, 1]")

    @property
    def timing(self) -> Timing:
        return Timing(self.demote_after, self.fast_demote_after, self.release_after, self.min_dwell)


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
