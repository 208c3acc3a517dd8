"""The engine's last stages for groups no guardrail, pin, hint or rule settled: noisy neighbour,
ranker and hysteresis (stages 5 and 6 in engine.py)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from smoothdesk.core import AppGroup, Decision, PriorityClass, Reason
from smoothdesk.core.ranker import NEUTRAL_SCORE
from smoothdesk.policy.engine_types import GroupState, PolicyInputs
from smoothdesk.policy.hysteresis import step
from smoothdesk.policy.noisy import group_load, judge

N, BG = PriorityClass.NORMAL, PriorityClass.BACKGROUND


@dataclass(frozen=True, slots=True)
class Pending:
    """A group waiting for the heuristic stage."""

    group: AppGroup
    gstate: GroupState
    exempt: frozenset[int]
    lead: tuple[Reason, ...]
    base: Reason


def clamped_score(scores: Mapping[str, float], group_id: str) -> float:
    value = scores.get(group_id, NEUTRAL_SCORE)
    return min(1.0, max(0.0, value)) if math.isfinite(value) else NEUTRAL_SCORE


def call_ranker(inputs: PolicyInputs, groups: Sequence[AppGroup]) -> tuple[Mapping[str, float], str]:
    if not groups:
        return {}, ""
    try:
        return inputs.ranker.score(groups, inputs.snapshot, inputs.hints, inputs.now), ""
    except Exception as exc:  # a broken model must not stop the policy
        return {}, f"ranker failed ({type(exc).__name__}: {exc}); rules only"


def score_can_matter(item: Pending, inputs: PolicyInputs, waiting: bool) -> bool:
    """Whether any ranker score could change this group's verdict (see heuristic).

    A demoted group's release can be sped up by a keep score. Otherwise only a group that could
    be hot at the eager threshold can be: under it, or with nobody waiting, the timer stays idle
    whatever the score. Most groups are idle, so most rounds then ask the ranker nothing, and the
    helper builds no feature rows and runs no inference for them.
    """
    if item.gstate.timer.demoted:
        return True
    if not waiting:
        return False
    cfg = inputs.config
    load = group_load(item.group, inputs.snapshot.processes, item.exempt)
    return (
        load.cpu_10s >= cfg.noisy_cpu_percent * cfg.ranker_eager_factor
        or load.cpu_tick >= cfg.fast_cpu_percent
    )


def heuristic(
    item: Pending, inputs: PolicyInputs, waiting: tuple[bool, str], score: float
) -> tuple[Decision, GroupState]:
    cfg = inputs.config
    eager = score <= cfg.ranker_eager_score
    threshold = cfg.noisy_cpu_percent * (cfg.ranker_eager_factor if eager else 1.0)
    load = group_load(item.group, inputs.snapshot.processes, item.exempt)
    verdict = judge(
        load,
        waiting[0],
        waiting[1],
        threshold=threshold,
        fast_threshold=cfg.fast_cpu_percent,
        release_threshold=cfg.release_cpu_percent,
    )
    keep = score >= cfg.ranker_keep_score
    ranker: list[Reason] = []
    if keep and verdict.hot:
        ranker.append(Reason("ranker", f"score {score:.2f}: likely used soon, not demoted"))
    elif eager and verdict.hot and load.cpu_10s < cfg.noisy_cpu_percent and not verdict.fast:
        ranker.append(Reason("ranker", f"score {score:.2f}: noisy threshold {threshold:.0f}%"))
    timer, held = step(
        item.gstate.timer,
        hot=verdict.hot and not keep,
        cool=verdict.cool or keep,
        fast=verdict.fast,
        now=inputs.now,
        timing=cfg.timing,
    )
    klass = BG if timer.demoted else N
    noisy = [Reason("noisy", verdict.detail)] if (verdict.hot or timer.demoted or held) else []
    tail = [*noisy, *ranker, *([held] if held is not None else [])]
    if timer.demoted:
        reasons = (*item.lead, *tail, *([item.base] if item.base.stage == "rule" else []))
    else:
        reasons = (*item.lead, item.base, *tail)
    gstate = replace(item.gstate, timer=timer)
    return Decision(item.group.id, klass, reasons, exempt=item.exempt), gstate


HEURISTIC_STAGES = frozenset({"noisy", "ranker", "hysteresis"})


def carried(item: Pending, previous: Decision | None) -> Decision:
    """A partial round repeats the last full round's heuristic verdict without advancing it.

    CPU averages are a per-tick measure and a fast-path snapshot may hold only new processes,
    so judging noise from it would reset the timers of a group that is really still busy.
    """
    gid = item.group.id
    if not item.gstate.timer.demoted:
        return Decision(gid, N, (*item.lead, item.base), exempt=item.exempt)
    kept = () if previous is None else previous.reasons
    heuristic = tuple(r for r in kept if r.stage in HEURISTIC_STAGES)
    rule = (item.base,) if item.base.stage == "rule" else ()
    return Decision(gid, BG, (*item.lead, *heuristic, *rule), exempt=item.exempt)
