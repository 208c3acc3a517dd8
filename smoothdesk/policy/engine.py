"""The policy engine: one Decision per group from guardrails, pins, hints, rules and heuristics.

A decision names the app's class and the members whose class differs (see policy/members.py):
rules and the noisy heuristic pick processes, and the subtree a picked process starts shares its
class, so a build inside an editor demotes the compilers and not the editor.

Precedence, highest first:

1. guardrails: a group whose members are all protected is not managed at all; protected
   members of other groups are listed in `Decision.exempt`;
2. user pins (an expired pin is ignored): the whole app takes the pinned class;
3. focus and audio hints: the focused group is INTERACTIVE and an audio client at least
   INTERACTIVE, whatever the leader's rule says, except that a CRITICAL rule stays CRITICAL;
   both last a grace period after the hint goes so that alt-tab does not flap. Other members'
   rules still apply inside it, but the focused and audio processes and their ancestors are
   never demoted;
4. rules: each classified member and its subtree get its class; the app takes its leader's;
5. the noisy-neighbour heuristic, for groups whose app class is NORMAL: CPU over the threshold
   while others wait, through hysteresis, demotes to BACKGROUND the members that are the load
   (and what they start), not the group;
6. the ranker, with a bounded say over those same groups only: a score >= ranker_keep_score
   withholds the noisy demotion, a score <= ranker_eager_score lowers the noisy threshold by
   ranker_eager_factor. It never lifts a group above NORMAL nor sinks it below BACKGROUND;
7. default NORMAL.

Stages 1 to 4 act at once (a new compiler is demoted on the exec event); only 5 and 6 wait.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import Any

from smoothdesk.core import (
    AppGroup,
    Classification,
    Decision,
    Pin,
    PriorityClass,
    ProcessRecord,
    ProcKey,
    Reason,
)
from smoothdesk.policy.engine_memo import Memo, memo_key, remember, reusable
from smoothdesk.policy.engine_types import (
    EngineConfig,
    GroupState,
    PolicyInputs,
    PolicyState,
    clock_bound,
    copied,
)
from smoothdesk.policy.guardrails import Baseline, guard_group, protected_decision, update_baselines
from smoothdesk.policy.heuristic import (
    Pending,
    call_ranker,
    carried,
    clamped_score,
    heuristic,
    score_can_matter,
)
from smoothdesk.policy.hysteresis import HeuristicTimer, in_grace
from smoothdesk.policy.members import Mark, ancestors, describe, rule_marks, spread, summary_reason
from smoothdesk.policy.noisy import others_waiting

__all__ = ["EngineConfig", "GroupState", "PolicyInputs", "PolicyState", "decide", "rule_class"]

N = PriorityClass.NORMAL


def rule_class(
    group: AppGroup,
    processes: Mapping[int, ProcessRecord],
    classifications: Mapping[int, Classification],
) -> tuple[PriorityClass, Reason] | None:
    """The class the rules give the app itself (its leader's), or None when it has no rule."""
    leader = classifications.get(group.leader)
    if leader is None:
        return None
    return leader.klass, Reason("rule", describe(processes.get(group.leader), leader))


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


def _observe(gstate: GroupState, group: AppGroup, inputs: PolicyInputs) -> GroupState:
    """Note the hints a group holds now, and its live members (to know later when it died)."""
    hints, now, procs = inputs.hints, inputs.now, inputs.snapshot.processes
    members = set(group.members)
    focus = now if not members.isdisjoint(hints.focused_pids) else gstate.last_focus
    audio = now if not members.isdisjoint(hints.audio_pids) else gstate.last_audio
    keys = frozenset(procs[p].key for p in group.members if p in procs)
    hinted = members & (hints.focused_pids | hints.audio_pids)
    held = frozenset(procs[p].key for p in hinted if p in procs) if hinted else gstate.hinted
    return GroupState(gstate.timer, focus, audio, keys or gstate.members, held, gstate.load)


def _protected(group: AppGroup, gstate: GroupState, inputs: PolicyInputs) -> set[int]:
    """The focused and audio processes (now, or within their grace) and their ancestors."""
    procs = inputs.snapshot.processes
    hinted = [p for p in group.members if p in procs and procs[p].key in gstate.hinted]
    return ancestors(hinted, procs, set(group.members))


def _decision(
    group: AppGroup,
    inputs: PolicyInputs,
    marks: Mapping[int, Mark],
    *,
    base: PriorityClass,
    reasons: tuple[Reason, ...],
    exempt: frozenset[int],
    protected: set[int] | frozenset[int] = frozenset(),
) -> Decision:
    app, members = spread(group, inputs.snapshot.processes, marks, base, protected)
    members = tuple(m for m in members if m.pid not in exempt)
    line = summary_reason(members)
    return Decision(group.id, app, (*reasons, *([line] if line else [])), exempt=exempt, members=members)


def _reset(gstate: GroupState) -> GroupState:
    timer = HeuristicTimer(changed_at=gstate.timer.changed_at)
    return replace(gstate, timer=timer, load=frozenset())


def _fixed_stages(
    group: AppGroup, gstate: GroupState, inputs: PolicyInputs, baselines: Mapping[ProcKey, Baseline]
) -> Decision | Pending:
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
    marks = rule_marks(group, snap.processes, inputs.classifications)
    ruled = rule_class(group, snap.processes, inputs.classifications)
    hinted = _hint_class(gstate, ruled, now, inputs.config)
    if hinted is not None:
        # The hint overrides the app's own rule; its members' rules still hold inside it.
        marks.pop(group.leader, None)
        protected = _protected(group, gstate, inputs)
        reasons = (*lead, *hinted[1])
        return _decision(
            group, inputs, marks, base=hinted[0], reasons=reasons, exempt=exempt, protected=protected
        )
    if ruled is not None and ruled[0] is not N:
        return _decision(group, inputs, marks, base=ruled[0], reasons=(*lead, ruled[1]), exempt=exempt)
    base = ruled[1] if ruled is not None else Reason("default", "no rule matched")
    down: frozenset[int] = frozenset()
    if marks:
        _, members = spread(group, snap.processes, marks, N)
        down = frozenset(m.pid for m in members if m.klass.demoted)
    return Pending(group, gstate, exempt, lead, base, marks, down)


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
    pending: list[Pending] = []
    waiting = others_waiting(snap.system, cfg.wait_psi_percent, cfg.wait_busy_percent)
    memos: dict[str, Memo | None] = {}
    keys: dict[str, tuple[Any, ...] | None] = {}
    reused: list[str] = []
    for group in groups:
        gid = group.id
        previous = state.groups.get(gid, GroupState())
        key = keys[gid] = memo_key(group, previous, inputs, baselines, waiting[0])
        memo = state.memo.get(gid)
        if reusable(memo, key, previous):
            assert memo is not None
            decisions[gid], gstates[gid], memos[gid] = memo.decision, previous, memo
            reused.append(gid)
            continue
        gstate = _observe(previous, group, inputs)
        outcome = _fixed_stages(group, gstate, inputs, baselines)
        if isinstance(outcome, Decision):
            decisions[gid], gstates[gid] = outcome, _reset(gstate)
            memos[gid] = remember(key, outcome, gstates[gid], asked=False, pending=False)
        elif inputs.partial:
            decisions[gid] = carried(outcome, inputs, state.decisions.get(gid))
            gstates[gid], memos[gid] = gstate, None
        else:
            pending.append(outcome)
    can_matter = {p.group.id for p in pending if score_can_matter(p, inputs, waiting[0])}
    scores, failure = call_ranker(inputs, [p.group for p in pending if p.group.id in can_matter])
    for item in pending:
        gid = item.group.id
        score = clamped_score(scores, gid)
        decision, gstates[gid] = heuristic(item, inputs, waiting, score)
        asked = gid in can_matter
        memos[gid] = remember(keys[gid], decision, gstates[gid], asked=asked, pending=True)
        decisions[gid] = _noted(decision, failure)
    for gid in reused:  # as a fresh pending outcome would be, a reused one is noted too
        memo = memos[gid]
        if memo is not None and memo.pending:
            decisions[gid] = _noted(memo.decision, failure)
    table = _memo_table(state.memo, memos)
    return decisions, _next_state(
        inputs, state, baselines=baselines, gstates=gstates, decisions=decisions, memo=table
    )


def _noted(decision: Decision, failure: str) -> Decision:
    if not failure:
        return decision
    return replace(decision, reasons=(*decision.reasons, Reason("ranker", failure)))


def _memo_table(before: Mapping[str, Memo], now: Mapping[str, Memo | None]) -> dict[str, Memo]:
    table = copied(before)
    for gid, memo in now.items():
        if memo is None:
            table.pop(gid, None)
        else:
            table[gid] = memo
    return table


def _next_state(
    inputs: PolicyInputs,
    state: PolicyState,
    *,
    baselines: dict[ProcKey, Baseline],
    gstates: dict[str, GroupState],
    decisions: dict[str, Decision],
    memo: dict[str, Memo],
) -> PolicyState:
    all_groups = copied(state.groups)
    all_groups.update(gstates)
    all_decisions = copied(state.decisions)
    all_decisions.update(decisions)
    ticking = set(state.live).difference(gstates)
    ticking.update(gid for gid, g in gstates.items() if clock_bound(g))
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
        ticking.intersection_update(all_groups)
        memo = {gid: m for gid, m in memo.items() if gid in all_groups}
    return PolicyState(
        MappingProxyType(all_groups),
        MappingProxyType(baselines),
        MappingProxyType(all_decisions),
        frozenset(ticking),
        MappingProxyType(memo),
    )
