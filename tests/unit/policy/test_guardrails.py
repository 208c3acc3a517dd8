"""Tests for the never-touch guardrails, including the first-seen baselines."""

from __future__ import annotations

import pytest
from policy_fakes import kthread, proc, snap

from smoothdesk.core import AppGroup, PriorityClass
from smoothdesk.core.process import SCHED_BATCH, SCHED_DEADLINE, SCHED_FIFO, SCHED_IDLE, SCHED_RR
from smoothdesk.policy.guardrails import (
    guard_group,
    ioprio_is_default,
    protected_decision,
    protection,
    update_baselines,
)

BE, IDLE_IO, NONE_IO = 2 << 13, 3 << 13, 0


def _baseline_of(p, *others, managed=frozenset()):
    procs = {q.pid: q for q in (p, *others)}
    return update_baselines(procs, procs, {}, managed)[p.key]


def _protected(p, *, own=frozenset(), user_mode_uid=None, managed=frozenset()):
    return protection(p, _baseline_of(p, managed=managed), own, user_mode_uid)


@pytest.mark.parametrize(
    ("ioprio", "nice", "default"),
    [
        (None, 0, True),
        (NONE_IO, 0, True),
        (NONE_IO | 7, 0, True),
        (BE | 4, 0, True),
        (BE | 6, 10, True),
        (BE | 7, 0, False),
        (BE | 0, 0, False),
        (IDLE_IO, 0, False),
        (1 << 13 | 4, 0, False),
    ],
)
def test_ioprio_default_detection(ioprio, nice, default):
    assert ioprio_is_default(ioprio, nice) is default


def test_plain_user_process_is_not_protected():
    assert _protected(proc(100, ioprio=BE | 4)) is None


@pytest.mark.parametrize(
    ("record", "needle"),
    [
        (kthread(9), "kernel thread"),
        (proc(1, "init", uid=0, ppid=0), "PID 1"),
        (proc(100, "pipewire", policy=SCHED_FIFO, rt_priority=20), "SCHED_FIFO"),
        (proc(100, "jackd", policy=SCHED_RR), "SCHED_RR"),
        (proc(100, "dl", policy=SCHED_DEADLINE), "SCHED_DEADLINE"),
        (proc(100, "make", nice=10), "nice 10"),
        (proc(100, "game", nice=-5), "nice -5"),
        (proc(100, "batch", policy=SCHED_BATCH), "chrt SCHED_BATCH"),
        (proc(100, "idler", policy=SCHED_IDLE), "chrt SCHED_IDLE"),
        (proc(100, "rsync", ioprio=IDLE_IO), "ionice"),
        (proc(100, "dd", ioprio=BE | 7), "ionice"),
        (proc(100, "pinned", affinity_restricted=True), "taskset"),
    ],
)
def test_each_never_touch_case_is_protected(record, needle):
    verdict = _protected(record)
    assert verdict is not None
    assert needle in verdict


def test_own_pids_are_protected():
    assert _protected(proc(100), own=frozenset({100})) == "SmoothDesk itself"
    assert _protected(proc(101), own=frozenset({100})) is None


def test_other_users_are_protected_in_user_mode_only():
    root_proc = proc(100, uid=0)
    assert "another user" in _protected(root_proc, user_mode_uid=1000)
    assert _protected(root_proc, user_mode_uid=None) is None
    assert _protected(proc(101, uid=1000), user_mode_uid=1000) is None


def test_baseline_is_what_was_first_seen():
    first = proc(100, "make")
    baselines = update_baselines({100: first}, [100], {}, frozenset())
    # Later SmoothDesk demotes it: the live nice changes, the baseline does not.
    demoted = proc(100, "make", nice=10)
    again = update_baselines({100: demoted}, [100], baselines, frozenset())
    assert again[demoted.key].nice == 0
    assert protection(demoted, again[demoted.key], frozenset(), None) is None


def test_a_user_setting_taken_back_makes_the_process_ours_and_our_own_demotion_keeps_it_so():
    # First seen at nice 19 that we did not set (a user's renice, or another tool's demotion).
    niced = proc(100, "cc1", nice=19)
    baselines = update_baselines({100: niced}, [100], {}, frozenset())
    assert protection(niced, baselines[niced.key], frozenset(), None) == "started by the user with nice 19"
    # The setting is given back: nothing of the user's is left, so the process is managed now.
    back = proc(100, "cc1")
    again = update_baselines({100: back}, [100], baselines, frozenset())
    assert protection(back, again[back.key], frozenset(), None) is None
    # Our own demotion after that must not make it the user's again (no flapping).
    ours = proc(100, "cc1", nice=19)
    later = update_baselines({100: ours}, [100], again, frozenset({ours.key}))
    assert protection(ours, later[ours.key], frozenset(), None) is None
    assert later[ours.key].nice == 0


def test_a_user_setting_that_stays_keeps_the_process_protected():
    niced = proc(100, "make", nice=10)
    baselines = update_baselines({100: niced}, [100], {}, frozenset())
    again = update_baselines({100: niced}, [100], baselines, frozenset())
    assert again[niced.key] is baselines[niced.key]
    assert protection(niced, again[niced.key], frozenset(), None) == "started by the user with nice 10"
    # An ionice alone has no nice or policy to give back: it stays the user's.
    ioniced = proc(200, "rsync", ioprio=(3 << 13))
    seen = update_baselines({200: ioniced}, [200], {}, frozenset())
    again = update_baselines({200: ioniced}, [200], seen, frozenset())
    assert protection(ioniced, again[ioniced.key], frozenset(), None) == "started by the user with ionice"


def test_reused_pid_gets_a_fresh_baseline():
    old = proc(100, "make", start_time=5)
    baselines = update_baselines({100: old}, [100], {}, frozenset())
    reused = proc(100, "nice-job", start_time=900, nice=15)
    again = update_baselines({100: reused}, [100], baselines, frozenset())
    assert "nice 15" in protection(reused, again[reused.key], frozenset(), None)


def test_child_of_a_managed_parent_inheriting_our_nice_is_not_user_adjusted():
    make = proc(200, "make", nice=10, start_time=100)
    baselines = {make.key: _baseline_of(proc(200, "make", start_time=100))}
    cc1 = proc(210, "cc1", ppid=200, pgrp=200, nice=10, start_time=300)
    seen = update_baselines({200: make, 210: cc1}, [210], baselines, frozenset({make.key}))
    assert protection(cc1, seen[cc1.key], frozenset(), None) is None


def test_child_with_the_same_nice_but_unmanaged_parent_is_user_adjusted():
    make = proc(200, "make", nice=10, start_time=100)
    cc1 = proc(210, "cc1", ppid=200, pgrp=200, nice=10, start_time=300)
    seen = update_baselines({200: make, 210: cc1}, [200, 210], {}, frozenset())
    assert "nice 10" in protection(make, seen[make.key], frozenset(), None)
    assert "nice 10" in protection(cc1, seen[cc1.key], frozenset(), None)


def test_grandchild_through_an_unmanaged_shell_of_a_managed_make_stays_ours():
    # make was demoted by us; its sh inherited nice 10 but the actuator never had to touch
    # it, so sh is not in managed_keys. The cc1 that sh starts must not look user-niced.
    make = proc(200, "make", nice=10, start_time=100)
    sh = proc(205, "sh", ppid=200, pgrp=200, nice=10, start_time=200)
    cc1 = proc(210, "cc1", ppid=205, pgrp=200, nice=10, start_time=300)
    base = {make.key: _baseline_of(proc(200, "make", start_time=100))}
    procs = {p.pid: p for p in (make, sh, cc1)}
    seen = update_baselines(procs, procs, base, frozenset({make.key}))
    assert protection(sh, seen[sh.key], frozenset(), None) is None
    assert protection(cc1, seen[cc1.key], frozenset(), None) is None


def test_managed_parent_found_by_key_when_its_record_is_missing():
    cc1 = proc(210, "cc1", ppid=200, nice=10, start_time=300)
    managed = frozenset({proc(200, start_time=100).key})
    assert _protected(cc1, managed=managed) is None
    # A managed key for a *later* process with that pid is a reuse, not the parent.
    reused = frozenset({proc(200, start_time=400).key})
    assert "nice 10" in _protected(cc1, managed=reused)


def test_user_niced_child_of_unadjusted_parent_is_protected():
    bash = proc(110, "bash", start_time=10)
    job = proc(200, "make", ppid=110, nice=10, start_time=50)
    seen = update_baselines({110: bash, 200: job}, [110, 200], {}, frozenset())
    assert protection(bash, seen[bash.key], frozenset(), None) is None
    assert "nice 10" in protection(job, seen[job.key], frozenset(), None)


def _group(*pids):
    return AppGroup("tree:1000:1:1", "g", "tree", 1000, pids[0], tuple(pids))


def test_mixed_group_lists_protected_members_and_all_protected_group_is_hands_off():
    procs = {
        10: proc(10, "pipewire", policy=SCHED_FIFO),
        11: proc(11, "pipewire-pulse"),
        12: proc(12, "wireplumber", nice=-11),
    }
    baselines = update_baselines(procs, procs, {}, frozenset())
    mixed = guard_group(_group(10, 11, 12), procs, baselines, frozenset(), None)
    assert set(mixed.protected) == {10, 12}
    assert not mixed.all_protected
    assert "2 of 3" in mixed.reason.detail
    assert "pipewire (10)" in mixed.reason.detail

    rt_only = guard_group(_group(10, 12), procs, baselines, frozenset(), None)
    assert rt_only.all_protected
    decision = protected_decision(_group(10, 12), rt_only)
    assert (decision.manage, decision.klass) == (False, PriorityClass.CRITICAL)
    assert decision.reasons[0].stage == "guardrail"

    niced_only = guard_group(_group(12), procs, baselines, frozenset(), None)
    assert protected_decision(_group(12), niced_only).klass is PriorityClass.NORMAL


def test_unprotected_group_has_no_guard_reason():
    procs = snap(proc(10), proc(11)).processes
    result = guard_group(_group(10, 11), procs, {}, frozenset(), None)
    assert (dict(result.protected), result.all_protected, result.reason) == ({}, False, None)
