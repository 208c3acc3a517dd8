"""Tests for the noisy-neighbour measurements: group load, others waiting, the verdict."""

from __future__ import annotations

import pytest
from policy_fakes import proc, system

from smoothdesk.core import AppGroup
from smoothdesk.policy.noisy import GroupLoad, group_load, judge, others_waiting

THRESHOLDS = {"threshold": 70.0, "fast_threshold": 90.0, "release_threshold": 30.0}


def test_group_load_sums_members_and_skips_exempt_and_dead():
    procs = {
        1: proc(10, cpu_10s=40.0, cpu_tick=50.0),
        2: proc(11, cpu_10s=35.0, cpu_tick=20.0),
        3: proc(12, cpu_10s=99.0, cpu_tick=99.0),
    }
    procs = {p.pid: p for p in procs.values()}
    group = AppGroup("g", "g", "tree", 1000, 10, (10, 11, 12, 13))
    assert group_load(group, procs) == GroupLoad(174.0, 169.0)
    assert group_load(group, procs, exempt={12}) == GroupLoad(75.0, 70.0)


@pytest.mark.parametrize(
    ("stats", "waits", "needle"),
    [
        (system(psi=12.0), True, "CPU PSI some 12%"),
        (system(psi=4.9, running=3, ncpu=2), True, "3 runnable on 2 CPUs"),
        (system(psi=0.0, running=2, ncpu=2, busy=95.0), True, "95% busy"),
        (system(psi=4.9, running=2, ncpu=2, busy=89.0), False, "nothing waits"),
    ],
)
def test_others_waiting(stats, waits, needle):
    result, detail = others_waiting(stats, 5.0, 90.0)
    assert result is waits
    assert needle in detail


def test_verdict_needs_others_waiting():
    idle_machine = judge(GroupLoad(100.0, 100.0), False, "nothing waits", **THRESHOLDS)
    assert not idle_machine.hot
    assert "but nothing waits" in idle_machine.detail
    busy_machine = judge(GroupLoad(94.0, 80.0), True, "CPU PSI some 12%", **THRESHOLDS)
    assert (busy_machine.hot, busy_machine.fast, busy_machine.cool) == (True, False, False)
    assert busy_machine.detail == "94% CPU over 10 s while CPU PSI some 12%"


def test_fast_detection_from_last_tick_alone():
    fresh = judge(GroupLoad(12.0, 98.0), True, "CPU PSI some 40%", **THRESHOLDS)
    assert (fresh.hot, fresh.fast) == (True, True)
    assert "98% CPU over the last tick" in fresh.detail


@pytest.mark.parametrize(
    ("load", "hot", "cool"),
    [
        (GroupLoad(69.9, 89.9), False, False),
        (GroupLoad(70.0, 10.0), True, False),
        (GroupLoad(29.0, 31.0), False, False),
        (GroupLoad(29.0, 29.0), False, True),
    ],
)
def test_thresholds_are_exact(load, hot, cool):
    verdict = judge(load, True, "x", **THRESHOLDS)
    assert (verdict.hot, verdict.cool) == (hot, cool)
