"""Hysteresis with an injected clock: timers alone, then through the engine with CPU series."""

from __future__ import annotations

import itertools
import math
import random

from hypothesis import given
from hypothesis import strategies as st
from policy_fakes import proc, snap, system, waiting_system

from smoothdesk.core import AppGroup, PriorityClass
from smoothdesk.policy.engine import EngineConfig, PolicyInputs, PolicyState, decide
from smoothdesk.policy.hysteresis import HeuristicTimer, Timing, in_grace, step

TIMING = Timing(demote_after=2.0, fast_demote_after=0.5, release_after=10.0, min_dwell=5.0)


def _run(series, *, timer=None, dt=1.0):
    """Feed (hot, cool, fast) observations one per dt seconds; return the demoted flags."""
    timer = timer or HeuristicTimer()
    flags = []
    for i, (hot, cool, fast) in enumerate(series):
        timer, _ = step(timer, hot=hot, cool=cool, fast=fast, now=i * dt, timing=TIMING)
        flags.append(timer.demoted)
    return flags, timer


def test_demotes_only_after_the_condition_held_demote_after():
    flags, _ = _run([(True, False, False)] * 4)
    assert flags == [False, False, True, True]


def test_fast_demotion_when_last_tick_alone_is_over_the_fast_mark():
    flags, _ = _run([(True, False, True)] * 3, dt=0.25)
    assert flags == [False, False, True]


def test_interrupted_condition_restarts_the_clock():
    flags, _ = _run([(True, False, False), (False, False, False)] * 5)
    assert not any(flags)


def test_release_needs_quiet_for_release_after():
    hot = [(True, False, False)] * 3
    quiet = [(False, True, False)] * 11
    flags, _ = _run(hot + quiet)
    assert flags[2] is True
    # Demoted at t=2, quiet from t=3: released at t=13, the 14th observation.
    assert flags[3:13] == [True] * 10
    assert flags[13] is False


def test_min_dwell_delays_a_quick_redemotion():
    timing = Timing(demote_after=0.0, fast_demote_after=0.0, release_after=0.0, min_dwell=5.0)
    timer, _ = step(HeuristicTimer(), hot=True, cool=False, fast=False, now=0.0, timing=timing)
    assert timer.demoted
    timer, reason = step(timer, hot=False, cool=True, fast=False, now=1.0, timing=timing)
    assert timer.demoted
    assert "quiet" in reason.detail
    timer, _ = step(timer, hot=False, cool=True, fast=False, now=5.0, timing=timing)
    assert not timer.demoted
    timer, reason = step(timer, hot=True, cool=False, fast=False, now=6.0, timing=timing)
    assert not timer.demoted
    assert "min dwell" in reason.detail
    timer, _ = step(timer, hot=True, cool=False, fast=False, now=10.0, timing=timing)
    assert timer.demoted


def test_in_grace():
    assert in_grace(None, 10.0, 5.0) is None
    assert in_grace(8.0, 10.0, 5.0) == 2.0
    assert in_grace(5.0, 10.0, 5.0) is None


# -- through the engine --------------------------------------------------------------------

GROUP = AppGroup("tree:1000:50:50", "hog", "tree", 1000, 50, (50,))


def _engine_series(cpus, *, dt=1.0, sys=None, config=None):
    """Run the engine once per dt with the given (cpu_10s, cpu_tick) figures; return classes."""
    state = PolicyState()
    classes, decisions = [], []
    for i, (cpu_10s, cpu_tick) in enumerate(cpus):
        now = i * dt
        hog = proc(50, "hog", cpu_10s=cpu_10s, cpu_tick=cpu_tick)
        inputs = PolicyInputs(
            snapshot=snap(hog, sys=sys or waiting_system(), now=now),
            groups=[GROUP],
            classifications={},
            now=now,
            config=config or EngineConfig(),
        )
        out, state = decide(inputs, state)
        classes.append(out[GROUP.id].klass)
        decisions.append(out[GROUP.id])
    return classes, decisions


def _changes(classes):
    return sum(1 for a, b in itertools.pairwise(classes) if a != b)


NO_HYSTERESIS = EngineConfig(
    demote_after=0.0,
    fast_demote_after=0.0,
    release_after=0.0,
    min_dwell=0.0,
    release_cpu_percent=69.9,
)


def test_cpu_oscillating_around_the_threshold_does_not_flap():
    # 60, 82, 38 % repeating: over the 70 % mark one tick in three.
    wave = [60 + 25 * math.sin(i * 2 * math.pi / 3) for i in range(120)]
    cpus = [(c, c) for c in wave]
    classes, _ = _engine_series(cpus)
    assert _changes(classes) == 0
    assert set(classes) == {PriorityClass.NORMAL}
    # The same series without hysteresis flips twice per period: the series is a real test.
    unguarded, _ = _engine_series(cpus, config=NO_HYSTERESIS)
    assert _changes(unguarded) >= 70


def test_noisy_series_around_the_threshold_changes_class_at_most_once():
    rng = random.Random(1234)
    cpus = [(70 + rng.uniform(-15, 15), 70 + rng.uniform(-25, 25)) for _ in range(200)]
    classes, _ = _engine_series(cpus)
    assert _changes(classes) <= 1
    unguarded, _ = _engine_series(cpus, config=NO_HYSTERESIS)
    assert _changes(unguarded) >= 40


def test_slow_oscillation_between_hot_and_middling_demotes_once_and_holds():
    # Above 70 % for 4 s, then 40 % (under the noisy mark, over the release mark) for 4 s.
    cpus = ([(85.0, 85.0)] * 4 + [(40.0, 40.0)] * 4) * 12
    classes, _ = _engine_series(cpus)
    assert _changes(classes) == 1
    assert classes[-1] is PriorityClass.BACKGROUND


def test_sustained_hog_is_demoted_after_demote_after_and_released_after_release_after():
    cpus = [(95.0, 85.0)] * 6 + [(10.0, 5.0)] * 14
    classes, decisions = _engine_series(cpus)
    assert classes[:2] == [PriorityClass.NORMAL] * 2
    # Hot until t=5, quiet from t=6: demoted at t=2, released at t=16 (10 s quiet).
    assert classes[2:16] == [PriorityClass.BACKGROUND] * 14
    assert classes[16:] == [PriorityClass.NORMAL] * 4
    assert "released after 10.0 s quiet" in decisions[16].reason_text
    demoted = decisions[2]
    assert [r.stage for r in demoted.reasons] == ["noisy", "hysteresis"]
    assert "95% CPU over 10 s while CPU PSI some 25%" in demoted.reasons[0].detail
    assert demoted.reasons[1].detail == "held 2.0 s"
    assert "not demoted yet" in decisions[1].reason_text


def test_fresh_hog_over_the_fast_mark_is_demoted_within_half_a_second():
    cpus = [(5.0, 100.0)] * 4
    classes, _ = _engine_series(cpus, dt=0.25)
    assert classes == [PriorityClass.NORMAL] * 2 + [PriorityClass.BACKGROUND] * 2


def test_hog_on_an_idle_machine_is_left_alone():
    classes, decisions = _engine_series([(100.0, 100.0)] * 10, sys=system(psi=0.0, running=1))
    assert set(classes) == {PriorityClass.NORMAL}
    assert [r.stage for r in decisions[-1].reasons] == ["default"]


@given(
    demoted=st.booleans(),
    hot=st.one_of(st.none(), st.floats(0, 10)),
    cool=st.one_of(st.none(), st.floats(0, 10)),
    changed=st.one_of(st.none(), st.floats(0, 10)),
)
def test_idle_means_equal_to_a_fresh_timer(demoted, hot, cool, changed):
    timer = HeuristicTimer(demoted, hot, cool, changed)
    assert timer.idle == (timer == HeuristicTimer())
