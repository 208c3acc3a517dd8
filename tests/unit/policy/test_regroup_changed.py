"""The incremental regroup (fast path and tick) builds exactly the groups a full regroup would."""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st
from policy_fakes import proc, snap

from smoothdesk.core import ProcessRecord
from smoothdesk.policy.grouper import group_processes, regroup_changed

UNITS = [None, "app-gnome-firefox-1234.scope", "nginx.service", "session-2.scope"]


@st.composite
def records(draw: st.DrawFn, pid: int) -> ProcessRecord:
    return proc(
        pid,
        session=draw(st.sampled_from([100, 200, pid])),
        pgrp=draw(st.sampled_from([100, 101, 200, pid])),
        unit=draw(st.sampled_from(UNITS)),
        start_time=draw(st.integers(0, 50)),
    )


@st.composite
def scenario(draw: st.DrawFn) -> tuple[list[ProcessRecord], list[ProcessRecord], set[int]]:
    """Processes before; processes exec'd since (new pids, or known pids in a new unit); pids gone."""
    before = [draw(records(pid)) for pid in range(100, 100 + draw(st.integers(1, 25)))]
    new = [draw(records(pid)) for pid in range(300, 300 + draw(st.integers(0, 5)))]
    known = draw(st.lists(st.sampled_from(before), max_size=3, unique_by=lambda p: p.pid))
    moved = [dataclasses.replace(p, unit=draw(st.sampled_from(UNITS))) for p in known]
    gone = set(draw(st.lists(st.sampled_from([p.pid for p in before]), max_size=3)))
    return before, new + moved, gone - {p.pid for p in moved}


@settings(max_examples=300, deadline=None)
@given(scenario())
def test_incremental_equals_full_regroup(
    case: tuple[list[ProcessRecord], list[ProcessRecord], set[int]],
) -> None:
    before, added, gone = case
    old = {g.id: g for g in group_processes(snap(*before))}
    procs = {p.pid: p for p in before if p.pid not in gone}
    procs.update({p.pid: p for p in added})
    after = snap(*procs.values())
    full = {g.id: g for g in group_processes(after)}

    rebuilt, emptied = regroup_changed(old, after, added, gone)
    merged = {gid: g for gid, g in old.items() if gid not in emptied} | rebuilt

    for gid, group in rebuilt.items():
        assert full[gid] == group
    # Every group that holds an added process is rebuilt, and no group is left holding a moved one.
    for p in added:
        assert p.pid in merged[next(gid for gid, g in full.items() if p.pid in g.members)].members
        assert sum(p.pid in g.members for g in merged.values()) == 1
    assert not emptied & full.keys()
    # With the exits too, the merged result is the full regroup, group for group.
    assert merged == full


def test_a_process_exec_in_a_new_scope_leaves_its_old_group() -> None:
    shell, child = proc(10, "bash", pgrp=10), proc(11, "firefox", session=10, pgrp=10)
    old = {g.id: g for g in group_processes(snap(shell, child))}
    assert old["tree:1000:10:10"].members == (10, 11)
    moved = dataclasses.replace(child, unit="app-gnome-firefox-1234.scope")
    rebuilt, emptied = regroup_changed(old, snap(shell, moved), [moved])
    assert rebuilt["tree:1000:10:10"].members == (10,)
    assert rebuilt["unit:app-gnome-firefox-1234.scope"].members == (11,)
    assert rebuilt["unit:app-gnome-firefox-1234.scope"].name == "firefox"
    assert emptied == set()
    # The last member moving out empties the group.
    rebuilt, emptied = regroup_changed({g.id: g for g in group_processes(snap(child))}, snap(moved), [moved])
    assert emptied == {"tree:1000:10:10"}
