"""The engine's last stages for groups no guardrail, pin, hint or rule settled: noisy neighbour,
ranker and hysteresis (stages 5 and 6 in engine.py)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from smoothdesk.core import AppGroup, Decision, PriorityClass, ProcKey, Reason
from smoothdesk.core.ranker import NEUTRAL_SCORE
from smoothdesk.policy.engine_types import GroupState, PolicyInputs
from smoothdesk.policy.hysteresis import Timing, step
from smoothdesk.policy.members import Mark, load_members, spread, summary_reason
from smoothdesk.policy.noisy import GroupLoad, group_load, judge

N, BG = PriorityClass.NORMAL, PriorityClass.BACKGROUND


@dataclass(frozen=True, slots=True)
class Pending:
    """A group waiting for the heuristic stage."""

    group: AppGroup
    gstate: GroupState
    exempt: frozenset[int]
    lead: tuple[Reason, ...]
    base: Reason
    marks: Mapping[int, Mark] = field(default_factory=dict)
    # Members a rule already demotes: they are not the group's noise to judge.
    ruled_down: frozenset[int] = frozenset()

    def load(self, inputs: PolicyInputs) -> GroupLoad:
        return group_load(self.group, inputs.snapshot.processes, self.exempt | self.ruled_down)


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
    load = item.load(inputs)
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
    load = item.load(inputs)
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
        timing=Timing(cfg.demote_after, cfg.fast_demote_after, cfg.release_after, cfg.min_dwell),
    )
    noisy = [Reason("noisy", verdict.detail)] if (verdict.hot or timer.demoted or held) else []
    tail = [*noisy, *ranker, *([held] if held is not None else [])]
    if timer.demoted:
        reasons = (*item.lead, *tail, *([item.base] if item.base.stage == "rule" else []))
    else:
        reasons = (*item.lead, item.base, *tail)
    load_keys = _load_keys(item, inputs) if timer.demoted else frozenset()
    gstate = replace(item.gstate, timer=timer, load=load_keys)
    return _spread_decision(item, inputs, reasons, load_keys), gstate


def _load_keys(item: Pending, inputs: PolicyInputs) -> frozenset[ProcKey]:
    """The members that are the load: those picked before (while still alive) plus today's."""
    procs = inputs.snapshot.processes
    skip = item.exempt | item.ruled_down
    picked = load_members(item.group, procs, skip)
    alive = {procs[p].key for p in item.group.members if p in procs}
    return frozenset(item.gstate.load & alive) | {procs[p].key for p in picked}


def _spread_decision(
    item: Pending, inputs: PolicyInputs, reasons: tuple[Reason, ...], load: frozenset[ProcKey]
) -> Decision:
    procs = inputs.snapshot.processes
    marks = dict(item.marks)
    for pid in item.group.members:
        proc = procs.get(pid)
        if proc is not None and proc.key in load:
            cpu = max(proc.cpu_10s, proc.cpu_tick)
            why = f"{proc.name} is the load ({cpu:.0f}% of a core) while others wait"
            marks[pid] = Mark(BG, "busy process", Reason("noisy", why))
    app, members = spread(item.group, procs, marks, N)
    members = tuple(m for m in members if m.pid not in item.exempt)
    line = summary_reason(members)
    full = (*reasons, *([line] if line else []))
    return Decision(item.group.id, app, full, exempt=item.exempt, members=members)


HEURISTIC_STAGES = frozenset({"noisy", "ranker", "hysteresis"})


def carried(item: Pending, inputs: PolicyInputs, previous: Decision | None) -> Decision:
    """A partial round repeats the last full round's heuristic verdict without advancing it.

    CPU averages are a per-tick measure and a fast-path snapshot may hold only new processes,
    so judging noise from it would reset the timers of a group that is really still busy.
    """
    if not item.gstate.timer.demoted:
        return _spread_decision(item, inputs, (*item.lead, item.base), frozenset())
    kept = () if previous is None else previous.reasons
    heuristic = tuple(r for r in kept if r.stage in HEURISTIC_STAGES)
    rule = (item.base,) if item.base.stage == "rule" else ()
    return _spread_decision(item, inputs, (*item.lead, *heuristic, *rule), item.gstate.load)
