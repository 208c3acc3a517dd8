"""Tests for the policy engine: stage order, pins, hints, ranker bounds, pause, subsets."""

from __future__ import annotations

import dataclasses

import pytest
from policy_fakes import proc, snap, system, waiting_system

from smoothdesk.core import AppGroup, Classification, Hints, Pin, PriorityClass
from smoothdesk.core.process import SCHED_FIFO
from smoothdesk.core.ranker import Ranker
from smoothdesk.policy.engine import EngineConfig, PolicyInputs, PolicyState, decide, rule_class
from smoothdesk.policy.grouper import group_processes
from smoothdesk.policy.ranker import RuleOnlyRanker

C, INT, N, BG, IDLE = (
    PriorityClass.CRITICAL,
    PriorityClass.INTERACTIVE,
    PriorityClass.NORMAL,
    PriorityClass.BACKGROUND,
    PriorityClass.IDLE,
)


def cls(klass, type_="thing", source="10-test.toml:3"):
    return Classification(type_, klass, f"rule-{type_}", source)


def group(gid, *pids, leader=None):
    return AppGroup(gid, gid, "tree", 1000, leader or pids[0], tuple(pids))


def run(procs, groups, *, state=None, now=0.0, sys=None, **kw):
    kw.setdefault("classifications", {})
    inputs = PolicyInputs(
        snapshot=snap(*procs, sys=sys or waiting_system(), now=now), groups=groups, now=now, **kw
    )
    return decide(inputs, state or PolicyState())


def one(procs, grp, **kw):
    out, _ = run(procs, [grp], **kw)
    return out[grp.id]


def stages(decision):
    return [r.stage for r in decision.reasons]


# -- precedence ----------------------------------------------------------------------------


def test_guardrail_beats_pin():
    pw = proc(10, "pipewire", policy=SCHED_FIFO)
    g = group("g", 10)
    d = one([pw], g, pins={"g": Pin("g", BG)})
    assert (d.manage, d.klass) == (False, C)
    assert stages(d) == ["guardrail", "pin"]
    assert "guardrail wins" in d.reasons[1].detail


def test_pin_beats_rule_and_focus():
    g = group("g", 10)
    d = one([proc(10)], g, pins={"g": Pin("g", INT, by_uid=1000)}, classifications={10: cls(BG)})
    assert (d.klass, stages(d)) == (INT, ["pin"])
    assert "by uid 1000" in d.reasons[0].detail
    focused = one([proc(10)], g, pins={"g": Pin("g", BG)}, hints=Hints(focused_pids=frozenset({10})))
    assert focused.klass is BG


def test_focus_beats_a_demoting_rule():
    g = group("g", 10)
    d = one(
        [proc(10, "game")],
        g,
        classifications={10: cls(BG, "odd")},
        hints=Hints(focused_pids=frozenset({10})),
    )
    assert d.klass is INT
    assert stages(d) == ["focus", "rule"]
    assert "(overridden)" in d.reasons[1].detail


def test_focus_keeps_a_critical_rule():
    d = one(
        [proc(10, "game")],
        group("g", 10),
        classifications={10: cls(C, "game")},
        hints=Hints(focused_pids=frozenset({10})),
    )
    assert d.klass is C
    assert stages(d) == ["rule", "focus"]


@pytest.mark.parametrize(("ruled", "expected"), [(None, INT), (IDLE, INT), (INT, INT), (C, C)])
def test_audio_client_is_at_least_interactive(ruled, expected):
    classifications = {} if ruled is None else {10: cls(ruled)}
    d = one(
        [proc(10, "mpv")],
        group("g", 10),
        classifications=classifications,
        hints=Hints(audio_pids=frozenset({10})),
    )
    assert d.klass is expected
    assert "audio" in stages(d)


def test_rule_beats_noisy_neighbour_heuristic():
    hog = proc(10, "ide", cpu_10s=190.0, cpu_tick=190.0)
    state = None
    for t in range(12):
        out, state = run(
            [hog], [group("g", 10)], state=state, now=float(t), classifications={10: cls(INT, "ide")}
        )
        assert out["g"].klass is INT
        assert stages(out["g"]) == ["rule"]


def test_rule_demotion_acts_at_once():
    d = one(
        [proc(10, "cc1plus", cpu_tick=0.0)],
        group("g", 10),
        classifications={10: cls(BG, "compiler", "10-build.toml:12")},
        sys=system(),
    )
    assert d.klass is BG
    assert d.reasons[0].detail == "cc1plus → compiler → background (10-build.toml:12)"


def test_noisy_needs_others_waiting():
    hog = proc(10, "hog", cpu_10s=100.0, cpu_tick=100.0)
    for sys, expected in ((system(psi=0.0, running=1, busy=50.0), N), (waiting_system(), BG)):
        state = None
        for t in range(4):
            out, state = run([hog], [group("g", 10)], state=state, now=float(t), sys=sys)
        assert out["g"].klass is expected


def test_focused_or_audio_hog_is_never_noisy():
    hog = proc(10, "game", cpu_10s=180.0, cpu_tick=180.0)
    for hints in (Hints(focused_pids=frozenset({10})), Hints(audio_pids=frozenset({10}))):
        state = None
        for t in range(6):
            out, state = run([hog], [group("g", 10)], state=state, now=float(t), hints=hints)
            assert out["g"].klass is INT


def test_normal_by_rule_group_can_still_be_noisy():
    hog = proc(10, "python3", cpu_10s=100.0, cpu_tick=100.0)
    state = None
    for t in range(3):
        out, state = run(
            [hog], [group("g", 10)], state=state, now=float(t), classifications={10: cls(N, "script")}
        )
    assert out["g"].klass is BG
    assert stages(out["g"]) == ["noisy", "hysteresis", "rule"]


# -- pins and hints over time --------------------------------------------------------------


def test_expired_pin_is_ignored():
    pins = {"g": Pin("g", INT, until=5.0)}
    g = group("g", 10)
    kw = {"pins": pins, "classifications": {10: cls(BG)}}
    assert one([proc(10)], g, now=4.9, **kw).klass is INT
    assert one([proc(10)], g, now=5.0, **kw).klass is BG
    assert "for 1 s more" in one([proc(10)], g, now=4.0, **kw).reasons[0].detail


def test_focus_grace_then_release():
    g = group("g", 10)
    state = None
    seen = []
    for t in range(10):
        hints = Hints(focused_pids=frozenset({10} if t == 0 else set()))
        out, state = run([proc(10)], [g], state=state, now=float(t), hints=hints)
        seen.append(out["g"].klass)
    assert seen == [INT] * 5 + [N] * 5


def test_alt_tab_between_two_apps_does_not_flap():
    a, b = group("a", 10), group("b", 20)
    state = None
    history = {"a": [], "b": []}
    for t in range(20):
        focused = 10 if t % 2 == 0 else 20
        out, state = run(
            [proc(10), proc(20)],
            [a, b],
            state=state,
            now=float(t),
            hints=Hints(focused_pids=frozenset({focused})),
        )
        for gid, seen in history.items():
            seen.append(out[gid].klass)
    assert history["a"] == [INT] * 20
    assert history["b"] == [N] + [INT] * 19  # b is first focused at t=1


# -- guardrails through the engine ---------------------------------------------------------


def test_mixed_group_is_managed_with_exempt_members_and_their_cpu_ignored():
    procs = [proc(10, "pw", policy=SCHED_FIFO, cpu_10s=100.0, cpu_tick=100.0), proc(11)]
    state = None
    for t in range(4):
        out, state = run(procs, [group("g", 10, 11)], state=state, now=float(t))
    d = out["g"]
    assert d.manage and d.exempt == frozenset({10})
    assert d.klass is N
    assert stages(d)[0] == "guardrail"


def test_other_users_group_is_hands_off_in_user_mode():
    d = one([proc(10, uid=0)], group("g", 10), user_mode_uid=1000, classifications={10: cls(BG)})
    assert (d.manage, d.klass) == (False, N)
    assert "another user's" in d.reason_text


def test_child_of_managed_make_is_demoted_not_exempt():
    make = proc(200, "make", nice=10, start_time=100)
    _, state = run([proc(200, "make", start_time=100)], [group("g", 200)])
    cc1 = proc(210, "cc1", ppid=200, nice=10, start_time=300)
    d = one(
        [make, cc1],
        group("g", 200, 210),
        state=state,
        managed_keys=frozenset({make.key}),
        classifications={200: cls(BG, "make")},
    )
    assert d.klass is BG
    assert d.exempt == frozenset()


def test_own_pids_are_never_managed():
    procs = [proc(10, "smoothdesk-helper"), proc(11, "bash")]
    groups = group_processes(snap(*procs), own_pids=frozenset({10}))
    out, _ = run(procs, groups, own_pids=frozenset({10}), classifications={10: cls(BG)})
    assert out["self"].manage is False


# -- pause ---------------------------------------------------------------------------------


def test_paused_manages_nothing_and_resumes_fresh():
    hog = proc(10, cpu_10s=100.0, cpu_tick=100.0)
    g = group("g", 10)
    kw = {"pins": {"g": Pin("g", INT)}, "classifications": {10: cls(BG)}}
    out, _ = run([hog], [g], paused=True, **kw)
    assert (out["g"].manage, out["g"].klass, stages(out["g"])) == (False, N, ["paused"])
    state = None
    for t in range(5):
        out, state = run([hog], [g], state=state, now=float(t), paused=True)
    assert out["g"].manage is False
    out, state = run([hog], [g], state=state, now=5.0)
    assert out["g"].klass is N  # the noisy clock starts again on resume
    out, state = run([hog], [g], state=state, now=7.0)
    assert out["g"].klass is BG


# -- rule aggregation ----------------------------------------------------------------------


def test_leader_classification_wins():
    procs = {p.pid: p for p in (proc(10, "make"), proc(11, "x", cpu_10s=90.0))}
    klass, reason = rule_class(group("g", 10, 11), procs, {10: cls(BG, "make"), 11: cls(INT)})
    assert klass is BG
    assert reason.detail.startswith("make → make → background")


def test_only_the_leader_rule_is_the_apps_and_members_keep_their_own():
    procs = {p.pid: p for p in (proc(10, "sh"), proc(11, "a", cpu_10s=50.0, ppid=10), proc(12, "b", ppid=10))}
    g = group("g", 10, 11, 12)
    assert rule_class(g, procs, {11: cls(BG, "compiler"), 12: cls(INT, "editor")}) is None
    d = one(list(procs.values()), g, classifications={11: cls(BG, "compiler"), 12: cls(INT, "editor")})
    assert d.klass is N
    assert d.classes() == {11: BG, 12: INT}


# -- ranker --------------------------------------------------------------------------------


class FixedRanker:
    def __init__(self, score):
        self.value = score
        self.asked: list[str] = []

    def score(self, groups, snapshot, hints, now):
        self.asked.extend(g.id for g in groups)
        return {g.id: self.value for g in groups}


class BrokenRanker:
    def score(self, groups, snapshot, hints, now):
        raise RuntimeError("model file corrupt")


def _hog_series(cpu, ranker, *, classifications=None, ticks=4):
    hog = proc(10, "hog", cpu_10s=cpu, cpu_tick=cpu)
    state = None
    for t in range(ticks):
        out, state = run(
            [hog],
            [group("g", 10)],
            state=state,
            now=float(t),
            ranker=ranker,
            classifications=classifications or {},
        )
    return out["g"]


def test_rankers_satisfy_the_protocol():
    assert isinstance(RuleOnlyRanker(), Ranker)
    assert isinstance(FixedRanker(0.5), Ranker)


def test_rule_only_ranker_changes_nothing():
    assert _hog_series(95.0, RuleOnlyRanker()).klass is BG
    assert _hog_series(50.0, RuleOnlyRanker()).klass is N


def test_high_score_withholds_noisy_demotion():
    d = _hog_series(95.0, FixedRanker(0.9))
    assert d.klass is N
    assert "likely used soon" in d.reason_text


def test_low_score_lowers_the_noisy_threshold_but_only_one_step():
    d = _hog_series(50.0, FixedRanker(0.0))
    assert d.klass is BG
    assert "noisy threshold 35%" in d.reason_text
    assert _hog_series(20.0, FixedRanker(0.0)).klass is N


def test_ranker_never_overrides_rules_pins_or_guardrails():
    ranker = FixedRanker(1.0)
    assert _hog_series(95.0, ranker, classifications={10: cls(IDLE)}).klass is IDLE
    ranker = FixedRanker(0.0)
    assert _hog_series(95.0, ranker, classifications={10: cls(INT)}).klass is INT
    assert ranker.asked == []  # only groups the heuristics may touch are scored


def test_broken_or_wild_ranker_falls_back_to_rules():
    d = _hog_series(95.0, BrokenRanker())
    assert d.klass is BG
    assert "ranker failed (RuntimeError: model file corrupt)" in d.reason_text
    assert _hog_series(95.0, FixedRanker(float("nan"))).klass is BG
    assert _hog_series(95.0, FixedRanker(7.0)).klass is N  # clamped to 1.0: keep


# -- subsets and state ---------------------------------------------------------------------


def test_partial_round_leaves_other_groups_state_alone():
    hog_a = proc(10, "a", cpu_10s=100.0, cpu_tick=100.0)
    hog_b = proc(20, "b", cpu_10s=100.0, cpu_tick=100.0)
    a, b = group("a", 10), group("b", 20)
    state = None
    for t in range(3):
        out, state = run([hog_a, hog_b], [a, b], state=state, now=float(t))
    assert out["a"].klass is BG and out["b"].klass is BG
    cc1 = proc(30, "cc1")
    c = group("c", 30)
    fast, after = run(
        [cc1], [c], state=state, now=3.2, partial=True, classifications={30: cls(BG, "compiler")}
    )
    assert set(fast) == {"c"}
    assert fast["c"].klass is BG
    assert after.groups["a"] == state.groups["a"]
    assert after.decisions["b"] == state.decisions["b"]
    assert set(after.decisions) == {"a", "b", "c"}
    assert hog_a.key in after.baselines and cc1.key in after.baselines


def test_partial_round_repeats_the_noisy_verdict_without_advancing_it():
    hog = proc(10, "hog", cpu_10s=100.0, cpu_tick=100.0)
    warming = proc(20, "warm", cpu_10s=100.0, cpu_tick=100.0)
    a, b = group("a", 10, 11), group("b", 20, 21)
    state = None
    for t in range(3):
        out, state = run([hog, warming], [a], state=state, now=float(t))
    _, state = run([hog, warming], [a, b], state=state, now=3.0)  # b starts its clock
    assert state.groups["a"].timer.demoted and not state.groups["b"].timer.demoted
    # The fast path sees only the two new, idle members: that must not reset anything.
    new = [proc(11, "child"), proc(21, "child")]
    fast, after = run(new, [a, b], state=state, now=3.3, partial=True)
    # a stays demoted, but its new member is not the load (nor started by it): it stays NORMAL.
    assert fast["a"].class_of(11) is N and fast["b"].class_of(21) is N
    assert [r.stage for r in fast["a"].reasons] == ["noisy", "hysteresis"]
    assert after.groups["a"].timer == state.groups["a"].timer
    assert after.groups["b"].timer == state.groups["b"].timer
    # The next full round continues b's clock from t=3: demoted at t=5.
    out, _ = run([hog, warming, *new], [a, b], state=after, now=5.0)
    assert out["b"].klass is BG


def test_subset_round_with_full_snapshot_carries_other_groups_over():
    # The helper's fast path: the whole snapshot, only the groups of new processes.
    hog_a = proc(10, "a", cpu_10s=100.0, cpu_tick=100.0)
    b_proc = proc(20, "b")
    a, b = group("a", 10), group("b", 20, 21)
    state = None
    for t in range(3):
        out, state = run([hog_a, b_proc], [a, b], state=state, now=float(t))
    cc1 = proc(21, "cc1")
    fast, after = run(
        [hog_a, b_proc, cc1],
        [b],
        state=state,
        now=3.1,
        classifications={21: cls(BG, "compiler")},
    )
    # The compiler is demoted, the app it joined is not.
    assert set(fast) == {"b"} and fast["b"].klass is N and fast["b"].class_of(21) is BG
    assert after.groups["a"] == state.groups["a"]
    assert after.decisions["a"] == state.decisions["a"] == out["a"]
    assert out["a"].klass is BG


def test_full_round_forgets_groups_and_processes_once_they_are_dead():
    _, state = run([proc(10), proc(20)], [group("a", 10), group("b", 20)])
    # b was not decided this round but its process lives: its state stays.
    _, state = run([proc(10), proc(20)], [group("a", 10)], state=state, now=1.0)
    assert set(state.groups) == {"a", "b"}
    _, state = run([proc(10)], [group("a", 10)], state=state, now=2.0)
    assert set(state.groups) == {"a"} and set(state.decisions) == {"a"}
    assert [k.pid for k in state.baselines] == [10]
    # A reused pid is a different process: the old group goes and the baseline is new.
    _, state = run([proc(10, start_time=999)], [group("c", 10)], state=state, now=3.0)
    assert set(state.groups) == {"c"}
    assert [k.start_time for k in state.baselines] == [999]


def test_state_is_read_only_and_inputs_are_frozen():
    _, state = run([proc(10)], [group("a", 10)])
    with pytest.raises(TypeError):
        state.groups["x"] = state.groups["a"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.groups = {}


@pytest.mark.parametrize(
    "bad",
    [
        {"demote_after": -1.0},
        {"release_cpu_percent": 80.0},
        {"ranker_keep_score": 0.05},
        {"focus_grace": float("nan")},
        {"ranker_eager_factor": 0.0},
    ],
)
def test_engine_config_rejects_nonsense(bad):
    with pytest.raises(ValueError, match="engine"):
        EngineConfig(**bad)


def test_prune_false_keeps_the_dead_until_a_pruning_round():
    _, state = run([proc(10), proc(20)], [group("a", 10), group("b", 20)])
    out, kept = run([proc(10)], [group("a", 10)], state=state, now=1.0, prune=False)
    assert set(kept.groups) == {"a", "b"}
    assert {k.pid for k in kept.baselines} == {10, 20}
    pruned_out, pruned = run([proc(10)], [group("a", 10)], state=kept, now=2.0)
    assert set(pruned.groups) == {"a"} and {k.pid for k in pruned.baselines} == {10}
    assert out["a"] == pruned_out["a"]  # pruning never changes a decision


# -- the live set the helper decides every tick ---------------------------------------------


def test_live_set_follows_the_heuristic_timer_and_the_hints():
    hog, quiet, editor = proc(10, "hog", cpu_10s=95.0, cpu_tick=95.0), proc(20, "idle"), proc(30, "ed")
    groups = [group("hog", 10), group("quiet", 20), group("ed", 30)]
    _, state = run([hog, quiet, editor], groups, now=0.0)
    assert state.live == {"hog"}  # its noisy timer runs
    cooled = dataclasses.replace(hog, cpu_10s=0.0, cpu_tick=0.0)
    _, state = run([cooled, quiet, editor], groups[:1], state=state, now=0.2)
    assert state.live == frozenset()  # quiet again before any demotion: the timer is idle
    _, state = run([cooled, quiet, editor], groups[2:], state=state, now=1.0, hints=Hints(frozenset({30})))
    assert state.live == {"ed"}  # the focus starts a grace period
    _, state = run([cooled, quiet, editor], groups[:1], state=state, now=2.0)
    assert state.live == {"ed"}  # not decided this round: its state, and so its place, is kept
    _, state = run([cooled, quiet], groups[:2], state=state, now=3.0)
    assert state.live == frozenset()  # "ed" is gone and pruned


def test_a_quiet_group_is_reused_until_one_of_its_inputs_changes():
    quiet = proc(10, "quiet")
    g = group("g", 10)
    out, state = run([quiet], [g], now=0.0)
    first = out["g"]
    out, state = run([quiet], [g], state=state, now=30.0)
    assert out["g"] is first  # nothing it reads changed: the same answer, not worked out again
    ruled = {10: cls(BG, "compiler")}
    out, state = run([quiet], [g], state=state, now=31.0, classifications=ruled)
    assert out["g"].klass is BG  # a rule now matches: decided afresh
    out, state = run([quiet], [g], state=state, now=32.0)
    assert out["g"].klass is N and out["g"] == first  # and back
    busy = dataclasses.replace(quiet, cpu_10s=95.0, cpu_tick=95.0)
    _, state = run([busy], [g], state=state, now=33.0)
    assert not state.groups["g"].timer.idle  # a changed record: its load is judged again
    out, _ = run([quiet], [g], state=state, now=34.0, pins={"g": Pin("g", IDLE)})
    assert out["g"].klass is IDLE
    out, _ = run([quiet], [g], state=state, now=34.0, hints=Hints(frozenset({10})))
    assert out["g"].klass is INT
    out, _ = run([quiet], [g], state=state, now=34.0, paused=True)
    assert not out["g"].manage
