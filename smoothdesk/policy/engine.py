"""The policy engine: one Decision per group from guardrails, pins, hints, rules and heuristics.

Precedence, highest first:

1. guardrails: a group whose members are all protected is not managed at all; protected
   members of other groups are listed in `Decision.exempt`;
2. user pins (an expired pin is ignored);
3. focus and audio hints: the focused group is INTERACTIVE and an audio client at least
   INTERACTIVE, whatever a rule says, except that a CRITICAL rule stays CRITICAL; both last a
   grace period after the hint goes so that alt-tab does not flap;
4. rules: the leader's classification, else the class of the classified members weighted by
   CPU (ties go to the more important class: a wrong demotion hurts more than a missed one);
5. the noisy-neighbour heuristic, for groups left NORMAL: CPU over the threshold while others
   wait demotes to BACKGROUND, through hysteresis;
6. the ranker, with a bounded say over those same groups only: a score >= ranker_keep_score
   withholds the noisy demotion, a score <= ranker_eager_score lowers the noisy threshold by
   ranker_eager_factor. It never lifts a group above NORMAL nor sinks it below BACKGROUND;
7. default NORMAL.

Stages 1 to 4 act at once (a new compiler is demoted on the exec event); only 5 and 6 wait.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from types import MappingProxyType
from typing import Any

from smoothdesk.core import (
    AppGroup,
    Classification,
    Decision,
    Hints,
    Pin,
    PriorityClass,
    ProcessRecord,
    ProcKey,
    Reason,
    Snapshot,
)
from smoothdesk.core.ranker import NEUTRAL_SCORE, Ranker
from smoothdesk.policy.guardrails import Baseline, guard_group, protected_decision, update_baselines
from smoothdesk.policy.hysteresis import HeuristicTimer, Timing, in_grace, step
from smoothdesk.policy.noisy import group_load, judge, others_waiting
from smoothdesk.policy.ranker import RuleOnlyRanker

N, BG = PriorityClass.NORMAL, PriorityClass.BACKGROUND


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
    """What the engine remembers about one group between rounds."""

    timer: HeuristicTimer = field(default_factory=HeuristicTimer)
    last_focus: float | None = None
    last_audio: float | None = None
    members: frozenset[ProcKey] = frozenset()


_EMPTY: Mapping[Any, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class PolicyState:
    """The engine's memory: per-group timers, first-seen baselines, last decisions (read-only)."""

    groups: Mapping[str, GroupState] = field(default_factory=lambda: _EMPTY)
    baselines: Mapping[ProcKey, Baseline] = field(default_factory=lambda: _EMPTY)
    decisions: Mapping[str, Decision] = field(default_factory=lambda: _EMPTY)


def _describe(proc: ProcessRecord | None, c: Classification) -> str:
    name = proc.name if proc is not None else "?"
    return f"{name} → {c.type} → {c.klass} ({c.source or c.rule})"


def rule_class(
    group: AppGroup,
    processes: Mapping[int, ProcessRecord],
    classifications: Mapping[int, Classification],
) -> tuple[PriorityClass, Reason] | None:
    """The class the rules give a group, or None when no member is classified."""
    leader = classifications.get(group.leader)
    if leader is not None:
        return leader.klass, Reason("rule", _describe(processes.get(group.leader), leader))
    weight: dict[PriorityClass, float] = {}
    heaviest: dict[PriorityClass, tuple[float, int]] = {}
    for pid in group.members:
        c = classifications.get(pid)
        if c is None:
            continue
        proc = processes.get(pid)
        # +1 so idle members still count and a fresh exec (no CPU history yet) has a vote.
        w = 1.0 + (max(proc.cpu_10s, proc.cpu_tick) if proc is not None else 0.0)
        weight[c.klass] = weight.get(c.klass, 0.0) + w
        heaviest[c.klass] = max(heaviest.get(c.klass, (0.0, 0)), (w, -pid))
    if not weight:
        return None
    klass = min(weight, key=lambda k: (-weight[k], k.rank))
    pid = -heaviest[klass][1]
    voters = sum(1 for p in group.members if p in classifications)
    detail = f"{_describe(processes.get(pid), classifications[pid])}; {voters} classified members"
    if len(weight) > 1:
        detail += ", weighted by CPU"
    return klass, Reason("rule", detail)


def _active_pin(pin: Pin | None, now: float) -> Pin | None:
    return pin if pin is not None and (pin.until is None or pin.until > now) else None


def _pin_reason(pin: Pin, now: float) -> Reason:
    left = "" if pin.until is None else f" for {pin.until - now:.0f} s more"
    return Reason("pin", f"pinned to {pin.klass} by uid {pin.by_uid}{left}")


def _hint_reason(kind: str, ago: float, grace: float, now_text: str) -> Reason:
    if ago <= 0.0:
        return Reason(kind, now_text)
    return Reason(kind, f"{now_text} {ago:.1f} s ago (grace {grace:.0f} s)")


def _hint_class(
    gstate: GroupState, ruled: tuple[PriorityClass, Reason] | None, now: float, cfg: EngineConfig
) -> tuple[PriorityClass, tuple[Reason, ...]] | None:
    focus_ago = in_grace(gstate.last_focus, now, cfg.focus_grace)
    audio_ago = in_grace(gstate.last_audio, now, cfg.audio_grace)
    if focus_ago is None and audio_ago is None:
        return None
    reasons: list[Reason] = []
    if focus_ago is not None:
        text = "has the focused window" if focus_ago <= 0.0 else "had the focused window"
        reasons.append(_hint_reason("focus", focus_ago, cfg.focus_grace, text))
    if audio_ago is not None:
        text = "plays audio" if audio_ago <= 0.0 else "played audio"
        reasons.append(_hint_reason("audio", audio_ago, cfg.audio_grace, text))
    klass = PriorityClass.INTERACTIVE
    if ruled is not None:
        if ruled[0] is PriorityClass.CRITICAL:
            klass = PriorityClass.CRITICAL
            reasons.insert(0, ruled[1])
        elif ruled[0] is not PriorityClass.INTERACTIVE:
            reasons.append(Reason("rule", f"{ruled[1].detail} (overridden)"))
        else:
            reasons.append(ruled[1])
    return klass, tuple(reasons)


@dataclass(frozen=True, slots=True)
class _Pending:
    """A group waiting for the heuristic stage."""

    group: AppGroup
    gstate: GroupState
    exempt: frozenset[int]
    lead: tuple[Reason, ...]
    base: Reason


def _score(scores: Mapping[str, float], group_id: str) -> float:
    value = scores.get(group_id, NEUTRAL_SCORE)
    return min(1.0, max(0.0, value)) if math.isfinite(value) else NEUTRAL_SCORE


def _call_ranker(inputs: PolicyInputs, groups: Sequence[AppGroup]) -> tuple[Mapping[str, float], str]:
    if not groups:
        return {}, ""
    try:
        return inputs.ranker.score(groups, inputs.snapshot, inputs.hints, inputs.now), ""
    except Exception as exc:  # a broken model must not stop the policy
        return {}, f"ranker failed ({type(exc).__name__}: {exc}); rules only"


def _score_can_matter(item: _Pending, inputs: PolicyInputs, waiting: bool) -> bool:
    """Whether any ranker score could change this group's verdict (see _heuristic).

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


def _heuristic(
    item: _Pending, inputs: PolicyInputs, waiting: tuple[bool, str], score: float
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


def _observe(gstate: GroupState, group: AppGroup, inputs: PolicyInputs) -> GroupState:
    """Note the hints a group holds now, and its live members (to know later when it died)."""
    hints, now, procs = inputs.hints, inputs.now, inputs.snapshot.processes
    members = set(group.members)
    focus = now if not members.isdisjoint(hints.focused_pids) else gstate.last_focus
    audio = now if not members.isdisjoint(hints.audio_pids) else gstate.last_audio
    keys = frozenset(procs[p].key for p in group.members if p in procs)
    return GroupState(gstate.timer, focus, audio, keys or gstate.members)


def _reset(gstate: GroupState) -> GroupState:
    timer = HeuristicTimer(changed_at=gstate.timer.changed_at)
    return replace(gstate, timer=timer)


def _fixed_stages(
    group: AppGroup, gstate: GroupState, inputs: PolicyInputs, baselines: Mapping[ProcKey, Baseline]
) -> Decision | _Pending:
    """Guardrails, pause, pins, hints and rules: the stages that act at once."""
    snap, now, gid = inputs.snapshot, inputs.now, group.id
    guard = guard_group(group, snap.processes, baselines, inputs.own_pids, inputs.user_mode_uid)
    lead = (guard.reason,) if guard.reason is not None else ()
    exempt = frozenset(guard.protected)
    pin = _active_pin(inputs.pins.get(gid), now)
    if inputs.paused:
        return Decision(gid, N, (Reason("paused", "SmoothDesk is paused"),), manage=False)
    if guard.all_protected:
        decision = protected_decision(group, guard)
        if pin is None:
            return decision
        ignored = Reason("pin", f"pinned to {pin.klass}, but the guardrail wins")
        return Decision(gid, decision.klass, (*decision.reasons, ignored), False, exempt)
    if pin is not None:
        return Decision(gid, pin.klass, (*lead, _pin_reason(pin, now)), exempt=exempt)
    ruled = rule_class(group, snap.processes, inputs.classifications)
    hinted = _hint_class(gstate, ruled, now, inputs.config)
    if hinted is not None:
        return Decision(gid, hinted[0], (*lead, *hinted[1]), exempt=exempt)
    if ruled is not None and ruled[0] is not N:
        return Decision(gid, ruled[0], (*lead, ruled[1]), exempt=exempt)
    base = ruled[1] if ruled is not None else Reason("default", "no rule matched")
    return _Pending(group, gstate, exempt, lead, base)


_HEURISTIC_STAGES = frozenset({"noisy", "ranker", "hysteresis"})


def _carried(item: _Pending, previous: Decision | None) -> Decision:
    """A partial round repeats the last full round's heuristic verdict without advancing it.

    CPU averages are a per-tick measure and a fast-path snapshot may hold only new processes,
    so judging noise from it would reset the timers of a group that is really still busy.
    """
    gid = item.group.id
    if not item.gstate.timer.demoted:
        return Decision(gid, N, (*item.lead, item.base), exempt=item.exempt)
    kept = () if previous is None else previous.reasons
    heuristic = tuple(r for r in kept if r.stage in _HEURISTIC_STAGES)
    rule = (item.base,) if item.base.stage == "rule" else ()
    return Decision(gid, BG, (*item.lead, *heuristic, *rule), exempt=item.exempt)


def decide(inputs: PolicyInputs, state: PolicyState) -> tuple[dict[str, Decision], PolicyState]:
    """Decide every group in `inputs.groups`; pure and deterministic.

    Returns the decisions for the given groups, by group id, and the next state (whose
    `decisions` also holds the last decisions of live groups not given this time).
    """
    snap, cfg = inputs.snapshot, inputs.config
    groups = sorted(inputs.groups, key=lambda g: g.id)
    # Every process is in some group, and a new one's group is always decided in the round that
    # first sees it, so reading the given groups' members is enough for first-sight baselines.
    pids = [p for g in groups for p in g.members]
    baselines = update_baselines(snap.processes, pids, state.baselines, inputs.managed_keys)
    decisions: dict[str, Decision] = {}
    gstates: dict[str, GroupState] = {}
    pending: list[_Pending] = []
    for group in groups:
        previous = state.groups.get(group.id, GroupState())
        gstate = _observe(previous, group, inputs)
        outcome = _fixed_stages(group, gstate, inputs, baselines)
        if isinstance(outcome, Decision):
            decisions[group.id], gstates[group.id] = outcome, _reset(gstate)
        elif inputs.partial:
            decisions[group.id] = _carried(outcome, state.decisions.get(group.id))
            gstates[group.id] = gstate
        else:
            pending.append(outcome)
    waiting = others_waiting(snap.system, cfg.wait_psi_percent, cfg.wait_busy_percent)
    asked = [p.group for p in pending if _score_can_matter(p, inputs, waiting[0])]
    scores, failure = _call_ranker(inputs, asked)
    for item in pending:
        score = _score(scores, item.group.id)
        decision, gstates[item.group.id] = _heuristic(item, inputs, waiting, score)
        if failure:
            failed = (*decision.reasons, Reason("ranker", failure))
            decision = Decision(decision.group_id, decision.klass, failed, exempt=decision.exempt)
        decisions[item.group.id] = decision
    return decisions, _next_state(inputs, state, baselines, gstates, decisions)


def _next_state(
    inputs: PolicyInputs,
    state: PolicyState,
    baselines: dict[ProcKey, Baseline],
    gstates: dict[str, GroupState],
    decisions: dict[str, Decision],
) -> PolicyState:
    all_groups = {**state.groups, **gstates}
    all_decisions = {**state.decisions, **decisions}
    if not inputs.partial and inputs.prune:
        # The snapshot is complete: a group not decided now is forgotten once none of the
        # processes it last had is alive, and a process's baseline once it is gone.
        live = {p.key for p in inputs.snapshot.processes.values()}
        all_groups = {
            gid: g for gid, g in all_groups.items() if gid in gstates or not live.isdisjoint(g.members)
        }
        all_decisions = {gid: d for gid, d in all_decisions.items() if gid in all_groups}
        baselines = {k: v for k, v in baselines.items() if k in live}
        all_groups = dict(sorted(all_groups.items()))
        all_decisions = dict(sorted(all_decisions.items()))
    return PolicyState(
        MappingProxyType(all_groups),
        MappingProxyType(baselines),
        MappingProxyType(all_decisions),
    )
