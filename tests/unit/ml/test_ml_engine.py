"""The OnnxRanker inside policy.engine.decide: it has its bounded say, guardrails and pins still win."""

from __future__ import annotations

from dataclasses import replace

from ml_support import group, proc, snap

from smoothdesk.core import Classification, Decision, Hints, Pin, PriorityClass
from smoothdesk.core.process import SCHED_FIFO
from smoothdesk.ml.observe import FocusTracker, observe
from smoothdesk.ml.ranker import load_default
from smoothdesk.policy.engine import EngineConfig, PolicyInputs, PolicyState, decide

BG, N, C = PriorityClass.BACKGROUND, PriorityClass.NORMAL, PriorityClass.CRITICAL


def _round(procs, groups, *, now, classes=None, pins=None, config=None, state=None, ranker=None):
    """One helper tick as the integrator wires it: observe -> ranker.observe_tick -> decide."""
    snapshot = snap(*procs, mono=now, wall=1_700_000_000.0 + now, psi=25.0)
    ranker = ranker or load_default()
    rows, _ = observe(snapshot, groups, classes or {}, {}, Hints(), tracker=FocusTracker())
    ranker.observe_tick(rows)
    inputs = PolicyInputs(
        snapshot=snapshot,
        groups=groups,
        classifications=classes or {},
        now=now,
        pins=pins or {},
        ranker=ranker,
        config=config or EngineConfig(),
    )
    decisions, state = decide(inputs, state or PolicyState())
    return decisions, state, ranker.score_observations(rows)


def _hog(pid, **kw):
    return proc(pid, cpu_tick=100.0, cpu_10s=100.0, start_time=100, **kw)


def _noisy_rounds(procs, groups, config, **kw) -> dict[str, Decision]:
    state, ranker = None, load_default()
    decisions: dict[str, Decision] = {}
    for now in (0.0, 1.0, 2.0, 3.0, 4.0):
        decisions, state, _ = _round(procs, groups, now=now, config=config, state=state, ranker=ranker, **kw)
    return decisions


def test_a_high_score_withholds_the_noisy_demotion_and_says_so():
    groups = [group("g", 10)]
    _, _, scores = _round([_hog(10)], groups, now=0.0)
    score = scores["g"]
    # keep threshold just under the model's score: the ranker, not a rule, keeps the group normal
    keep = replace(EngineConfig(), ranker_eager_score=0.0, ranker_keep_score=max(1e-6, score - 1e-6))
    kept = _noisy_rounds([_hog(10)], groups, keep)["g"]
    assert kept.klass is N
    assert any(r.stage == "ranker" and "not demoted" in r.detail for r in kept.reasons)
    strict = replace(EngineConfig(), ranker_eager_score=0.0, ranker_keep_score=1.0)
    assert _noisy_rounds([_hog(10)], groups, strict)["g"].klass is BG


def test_pins_and_guardrails_win_over_any_score():
    groups = [group("pinned", 10), group("rt", 20)]
    procs = [_hog(10), _hog(20, policy=SCHED_FIFO, rt_priority=5)]
    keep_all = replace(EngineConfig(), ranker_eager_score=0.0, ranker_keep_score=1e-6)
    decisions = _noisy_rounds(procs, groups, keep_all, pins={"pinned": Pin("pinned", BG)})
    assert decisions["pinned"].klass is BG
    assert [r.stage for r in decisions["pinned"].reasons] == ["pin"]
    assert decisions["rt"].manage is False
    assert not any(r.stage == "ranker" for r in decisions["rt"].reasons)


def test_rules_outside_normal_are_not_the_rankers_to_change():
    groups = [group("idx", 10)]
    classes = {10: Classification("indexer", PriorityClass.IDLE, "r", "f:1")}
    keep_all = replace(EngineConfig(), ranker_eager_score=0.0, ranker_keep_score=1e-6)
    d = _noisy_rounds([_hog(10)], groups, keep_all, classes=classes)["idx"]
    assert d.klass is PriorityClass.IDLE
    assert not any(r.stage == "ranker" for r in d.reasons)
