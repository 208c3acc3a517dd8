"""The helper's change detection: what must be re-decided, and what the actuator must see."""

from __future__ import annotations

import dataclasses

from smoothdesk.core import AppGroup, Decision, MemberClass, PriorityClass, Reason
from smoothdesk.helper.incremental import actuation_set, changed_pids, dirty_groups, grouping_changed
from tests.unit.policy.policy_fakes import kthread, proc


def grp(gid: str, *members: int) -> AppGroup:
    return AppGroup(gid, gid, "tree", 0, members[0], tuple(members))


def test_changed_pids_is_identity_based() -> None:
    a, b = proc(1, "a"), proc(2, "b")
    before = {1: a, 2: b}
    after = {1: a, 2: dataclasses.replace(b), 3: proc(3, "c")}
    assert changed_pids(before, after, [3, 2, 1]) == [2, 3]
    assert changed_pids(before, after, [1, 2, 4]) == [2]  # only candidates, only those still there


def test_grouping_changes_on_membership_and_identity_but_not_kworker_renames() -> None:
    k, p = kthread(5, "kworker/0:1-events"), proc(6, "make", pgrp=6)
    before = {5: k, 6: p}
    renamed = {5: dataclasses.replace(k, comm="kworker/0:1-mm_percpu_wq"), 6: p}
    assert not grouping_changed(before, renamed, [5])
    moved = {5: k, 6: dataclasses.replace(p, pgrp=99)}
    assert grouping_changed(before, moved, [6])
    assert grouping_changed(before, {5: k}, [])
    busier = {5: k, 6: dataclasses.replace(p, cpu_tick=90.0)}
    assert not grouping_changed(before, busier, [6])


def test_dirty_groups_are_new_reshaped_touched_or_asked_for() -> None:
    previous = {"a": grp("a", 1), "b": grp("b", 2), "c": grp("c", 3), "d": grp("d", 4)}
    now = {"a": grp("a", 1), "b": grp("b", 2, 5), "c": grp("c", 3), "d": grp("d", 4), "e": grp("e", 6)}
    out = [g.id for g in dirty_groups(now, previous, changed=[3], extra={"d", "gone"})]
    assert out == ["b", "c", "d", "e"]


def test_dirty_groups_of_an_unchanged_groups_dict_follow_each_touched_pid() -> None:
    groups = {"a": grp("a", 1), "b": grp("b", 2, 3), "c": grp("c", 4)}
    assert [g.id for g in dirty_groups(groups, groups, changed=[3], extra=set())] == ["b"]
    assert [g.id for g in dirty_groups(groups, groups, changed=[], extra={"c"})] == ["c"]
    # After a regroup (a new dict) pid 3 is in "c": its old owner must not be answered.
    regrouped = {"a": grp("a", 1), "b": grp("b", 2), "c": grp("c", 3, 4)}
    assert [g.id for g in dirty_groups(regrouped, regrouped, changed=[3], extra=set())] == ["c"]
    # The same dict changed in place: the index is checked, found stale and rebuilt.
    regrouped["c"], regrouped["a"] = grp("c", 4), grp("a", 1, 3)
    assert [g.id for g in dirty_groups(regrouped, regrouped, changed=[3], extra=set())] == ["a"]
    regrouped["d"] = grp("d", 9)
    assert [g.id for g in dirty_groups(regrouped, regrouped, changed=[9], extra=set())] == ["d"]


def test_actuation_set_includes_a_normal_app_whose_members_are_demoted() -> None:
    groups = {"a": grp("a", 1, 2), "b": grp("b", 3)}
    r = (Reason("rule", "x"),)
    build = MemberClass(2, PriorityClass.BACKGROUND, "compiler", r[0])
    decisions = {
        "a": Decision("a", PriorityClass.NORMAL, r, members=(build,)),
        "b": Decision("b", PriorityClass.NORMAL, r),
    }
    assert [g.id for g in actuation_set(decisions, groups, [])] == ["a"]


def test_actuation_set_always_includes_demoted_groups() -> None:
    groups = {"a": grp("a", 1), "b": grp("b", 2), "c": grp("c", 3)}
    r = (Reason("rule", "x"),)
    decisions = {
        "a": Decision("a", PriorityClass.BACKGROUND, r),
        "b": Decision("b", PriorityClass.NORMAL, r),
        "c": Decision("c", PriorityClass.IDLE, r, manage=False),
    }
    assert [g.id for g in actuation_set(decisions, groups, [groups["b"]])] == ["b", "a"]


def test_actuation_set_always_includes_groups_that_get_a_slice() -> None:
    # Critical and interactive processes get a slice: left out, the actuator would give it back.
    groups = {"a": grp("a", 1), "b": grp("b", 2), "c": grp("c", 3), "d": grp("d", 4)}
    r = (Reason("rule", "x"),)
    decisions = {
        "a": Decision("a", PriorityClass.INTERACTIVE, r),
        "b": Decision("b", PriorityClass.NORMAL, r),
        "c": Decision("c", PriorityClass.CRITICAL, r, manage=False),
        "d": Decision(
            "d", PriorityClass.NORMAL, r, members=(MemberClass(4, PriorityClass.CRITICAL, "x", r[0]),)
        ),
    }
    assert [g.id for g in actuation_set(decisions, groups, [])] == ["a", "d"]
