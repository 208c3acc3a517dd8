"""Reused decisions: a group whose every input is the same as last round gets the same answer.

decide() is pure, so a group's decision is a function of what it reads: the group, its members'
records, classifications and first-sight baselines, which of them are ours or already managed, the
user-mode uid, pause, the engine settings, whether others wait for a CPU, and the group's own
state. Time enters only through pins, hint grace periods and heuristic timers, and the ranker only
for the groups it is asked about; groups with any of those are never reused. A full round (every
group, once a minute) then costs a key comparison for each quiet group instead of its stages.

Records are compared by identity first (the collector shares an unchanged record between ticks) and
by value after, so an equal world built afresh is reused too, and a changed field is never missed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from smoothdesk.core import AppGroup, Decision, ProcKey
from smoothdesk.policy.engine_types import GroupState, PolicyInputs, clock_bound
from smoothdesk.policy.guardrails import Baseline


@dataclass(frozen=True, slots=True)
class Memo:
    """One group's inputs and what they decided. `pending`: it went through the heuristic stage,
    so a ranker failure in the round is noted on it as on any other."""

    key: tuple[Any, ...]
    decision: Decision
    gstate: GroupState
    pending: bool


def memo_key(
    group: AppGroup,
    previous: GroupState,
    inputs: PolicyInputs,
    baselines: Mapping[ProcKey, Baseline],
    waiting: bool,
) -> tuple[Any, ...] | None:
    """Everything the group's decision reads, or None when it may depend on the clock or the ranker."""
    members = group.members
    hints = inputs.hints
    if (
        inputs.partial
        or clock_bound(previous)
        or group.id in inputs.pins
        or not hints.focused_pids.isdisjoint(members)
        or not hints.audio_pids.isdisjoint(members)
    ):
        return None
    procs, classes = inputs.snapshot.processes, inputs.classifications
    records = tuple(procs.get(p) for p in members)
    keys = [r.key for r in records if r is not None]
    return (
        group,
        records,
        tuple(classes.get(p) for p in members),
        tuple(baselines.get(k) for k in keys),
        tuple(k in inputs.managed_keys for k in keys),
        inputs.own_pids.intersection(members),
        inputs.user_mode_uid,
        inputs.paused,
        inputs.config,
        waiting,
    )


def reusable(memo: Memo | None, key: tuple[Any, ...] | None, previous: GroupState) -> bool:
    """Whether `memo` answers this round: same inputs, and the group's state is still the one it left."""
    return memo is not None and key is not None and memo.gstate is previous and memo.key == key


def remember(
    key: tuple[Any, ...] | None, decision: Decision, gstate: GroupState, *, asked: bool, pending: bool
) -> Memo | None:
    """The memo of a fresh outcome, if it may be reused later: its inputs were all in the key (the
    ranker was not asked), and it did not start anything the clock advances."""
    if key is None or asked or clock_bound(gstate):
        return None
    return Memo(key, decision, gstate, pending)
