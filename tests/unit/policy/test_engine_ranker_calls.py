"""The engine asks the ranker only about groups whose verdict a score could change."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from policy_fakes import proc, snap, system, waiting_system

from smoothdesk.core import AppGroup
from smoothdesk.core.decision import Reason
from smoothdesk.policy.engine import EngineConfig, GroupState, PolicyInputs, PolicyState, decide
from smoothdesk.policy.heuristic import Pending, heuristic, score_can_matter
from smoothdesk.policy.hysteresis import HeuristicTimer

CFG = EngineConfig()


class CountingRanker:
    def __init__(self, score: float) -> None:
        self.value = score
        self.asked: list[list[str]] = []

    def score(self, groups, snapshot, hints, now):  # type: ignore[no-untyped-def]
        self.asked.append(sorted(g.id for g in groups))
        return {g.id: self.value for g in groups}


def round_(cpu: dict[str, float], ranker: CountingRanker, *, state=None, now=0.0, waiting=True):  # type: ignore[no-untyped-def]
    procs = [proc(10 + i, gid, cpu_10s=c, cpu_tick=c) for i, (gid, c) in enumerate(sorted(cpu.items()))]
    groups = [AppGroup(p.comm, p.comm, "tree", 1000, p.pid, (p.pid,)) for p in procs]
    inputs = PolicyInputs(
        snapshot=snap(*procs, sys=waiting_system() if waiting else system(), now=now),
        groups=groups,
        classifications={},
        now=now,
        ranker=ranker,
    )
    return decide(inputs, state or PolicyState())


def test_idle_groups_are_not_scored_and_hogs_are() -> None:
    eager_edge = CFG.noisy_cpu_percent * CFG.ranker_eager_factor
    ranker = CountingRanker(0.5)
    round_({"idle": 1.0, "below": eager_edge - 1, "edge": eager_edge, "hog": 95.0}, ranker)
    assert ranker.asked == [["edge", "hog"]]


def test_nothing_is_scored_when_nobody_waits_for_a_cpu() -> None:
    ranker = CountingRanker(0.5)
    out, _ = round_({"hog": 95.0}, ranker, waiting=False)
    assert ranker.asked == []
    assert "ranker" not in [r.stage for r in out["hog"].reasons]


def test_a_demoted_group_is_scored_while_it_cools_so_a_keep_score_can_release_it() -> None:
    state = None
    for t in range(6):  # long enough for the hysteresis to demote a steady hog
        out, state = round_({"hog": 95.0}, CountingRanker(0.5), state=state, now=float(t))
    assert out["hog"].klass.value == "background"
    ranker = CountingRanker(0.95)
    quiet_state = state
    _, quiet_state = round_({"hog": 0.0}, ranker, state=quiet_state, now=6.0, waiting=False)
    assert ranker.asked == [["hog"]]


@settings(max_examples=400, deadline=None)
@given(
    cpu_10s=st.floats(0, 100),
    cpu_tick=st.floats(0, 100),
    waiting=st.booleans(),
    hot_since=st.one_of(st.none(), st.floats(0, 9)),
    changed_at=st.one_of(st.none(), st.floats(0, 9)),
)
def test_where_the_ranker_is_not_asked_no_score_would_change_the_verdict(
    cpu_10s: float, cpu_tick: float, waiting: bool, hot_since: float | None, changed_at: float | None
) -> None:
    hog = proc(10, "hog", cpu_10s=cpu_10s, cpu_tick=cpu_tick)
    grp = AppGroup("hog", "hog", "tree", 1000, 10, (10,))
    timer = HeuristicTimer(False, hot_since, None, changed_at)
    item = Pending(grp, GroupState(timer), frozenset(), (), Reason("default", "no rule matched"))
    inputs = PolicyInputs(
        snapshot=snap(hog, sys=waiting_system() if waiting else system(), now=10.0),
        groups=[grp],
        classifications={},
        now=10.0,
    )
    if score_can_matter(item, inputs, waiting):
        return
    reason = "load under the eager threshold" if waiting else "nobody waiting"
    outcomes = {heuristic(item, inputs, (waiting, reason), score) for score in (0.0, 0.05, 0.5, 0.85, 1.0)}
    assert len(outcomes) == 1
