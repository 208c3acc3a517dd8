"""Classes per process: the load inside an app is demoted, the app that runs it is not."""

from __future__ import annotations

from policy_fakes import proc, snap, waiting_system

from smoothdesk.core import AppGroup, Classification, Hints, Pin, PriorityClass
from smoothdesk.policy.engine import PolicyInputs, PolicyState, decide
from smoothdesk.policy.members import ancestors, load_members

INT, N, BG, C = (
    PriorityClass.INTERACTIVE,
    PriorityClass.NORMAL,
    PriorityClass.BACKGROUND,
    PriorityClass.CRITICAL,
)
COMPILER = Classification("compiler", BG, "cc1", "50-compilers.toml:4")
MAKE = Classification("build", BG, "make", "50-build.toml:2")


def member(pid: int, comm: str, ppid: int, **kw):
    return proc(pid, comm, ppid=ppid, session=10, pgrp=10, **kw)


def ide_with_a_build():
    """An editor (10) with a latency-sensitive helper (11) and a build it started (12 → 13, 14)."""
    return [
        proc(10, "code", cpu_10s=5.0),
        member(11, "code-helper", 10, cpu_10s=20.0),
        member(12, "make", 10),
        member(13, "cc1", 12, cpu_10s=95.0, cpu_tick=95.0),
        member(14, "as", 13, cpu_10s=40.0),
    ]


def grp(*procs, leader=10):
    return AppGroup("g", "code", "tree", 1000, leader, tuple(p.pid for p in procs))


def rounds(procs, groups, n=1, step=1.0, state=None, **kw):
    kw.setdefault("classifications", {})
    out = {}
    for t in range(n):
        now = t * step
        inputs = PolicyInputs(
            snapshot=snap(*procs, sys=waiting_system(), now=now), groups=groups, now=now, **kw
        )
        out, state = decide(inputs, state or PolicyState())
    return out, state


def test_a_build_inside_an_app_demotes_the_build_and_not_the_app():
    procs = ide_with_a_build()
    out, _ = rounds(procs, [grp(*procs)], classifications={12: MAKE, 13: COMPILER})
    d = out["g"]
    assert d.klass is N
    assert d.classes() == {12: BG, 13: BG, 14: BG}
    assert d.class_of(11) is N and d.class_of(10) is N
    # 14 matches no rule: it is demoted because its parent, a compiler, started it.
    inherited = next(m for m in d.members if m.pid == 14)
    assert inherited.reason.detail.startswith("started by 13 (cc1)")
    assert d.summary == "normal · 1 build background · 2 compilers background"
    assert d.reasons[-1].stage == "members" and "2 compiler background (13, 14" in d.reasons[-1].detail
    assert d.demotes


def test_focus_protects_the_focused_process_and_its_ancestors_but_not_its_build():
    procs = ide_with_a_build()
    # The leader itself matches a demoting rule, and the focused window belongs to 11.
    classes = {10: Classification("odd", BG, "code", "x.toml:1"), 13: COMPILER}
    hints = Hints(focused_pids=frozenset({11}))
    out, _ = rounds(procs, [grp(*procs)], classifications=classes, hints=hints)
    d = out["g"]
    assert d.klass is INT  # the focus overrides the app's own rule
    assert d.class_of(11) is INT and d.class_of(12) is INT
    assert d.class_of(13) is BG and d.class_of(14) is BG


def test_a_focused_process_inside_a_demoted_subtree_is_not_demoted_nor_are_its_ancestors():
    procs = ide_with_a_build()
    hints = Hints(focused_pids=frozenset({14}))
    out, _ = rounds(procs, [grp(*procs)], classifications={12: MAKE}, hints=hints)
    d = out["g"]
    # 12 → 13 → 14 all inherit make's class, but 14 has the focus: it and its ancestors keep it.
    assert {p: d.class_of(p) for p in (10, 11, 12, 13, 14)} == dict.fromkeys((10, 11, 12, 13, 14), INT)


def test_protection_lasts_the_focus_grace():
    procs = ide_with_a_build()
    g = grp(*procs)
    classes = {12: MAKE}
    _, state = rounds(procs, [g], classifications=classes, hints=Hints(focused_pids=frozenset({13})))
    inputs = PolicyInputs(
        snapshot=snap(*procs, sys=waiting_system(), now=2.0), groups=[g], now=2.0, classifications=classes
    )
    out, _ = decide(inputs, state)
    assert out["g"].class_of(13) is INT and out["g"].class_of(12) is INT
    inputs = PolicyInputs(
        snapshot=snap(*procs, sys=waiting_system(), now=9.0), groups=[g], now=9.0, classifications=classes
    )
    out, _ = decide(inputs, state)
    assert out["g"].class_of(13) is BG and out["g"].klass is N


def test_an_app_pin_applies_to_the_whole_app():
    procs = ide_with_a_build()
    out, _ = rounds(procs, [grp(*procs)], classifications={13: COMPILER}, pins={"g": Pin("g", BG)})
    assert out["g"].klass is BG and out["g"].members == ()


def test_the_noisy_heuristic_demotes_the_busy_member_and_what_it_starts():
    shell = proc(10, "bash")
    busy = member(11, "python3", 10, cpu_10s=180.0, cpu_tick=180.0)
    child = member(12, "worker", 11)
    quiet = member(13, "editor", 10, cpu_10s=2.0)
    procs = [shell, busy, child, quiet]
    out, state = rounds(procs, [grp(*procs)], n=4)
    d = out["g"]
    assert d.klass is N
    assert d.classes() == {11: BG, 12: BG}
    assert next(m for m in d.members if m.pid == 11).reason.stage == "noisy"
    # Demoted, the hog gets less CPU: it stays the load while the group stays demoted.
    busy.cpu_10s = busy.cpu_tick = 60.0
    inputs = PolicyInputs(
        snapshot=snap(*procs, sys=waiting_system(), now=4.0),
        groups=[grp(*procs)],
        now=4.0,
        classifications={},
    )
    again, _ = decide(inputs, state)
    assert again["g"].class_of(11) is BG


def test_a_single_process_hog_is_demoted_as_an_app():
    hog = proc(10, "yes", cpu_10s=100.0, cpu_tick=100.0)
    out, _ = rounds([hog], [AppGroup("h", "yes", "tree", 1000, 10, (10,))], n=4)
    assert out["h"].klass is BG


def test_a_rule_demoted_build_does_not_make_its_app_noisy():
    procs = ide_with_a_build()
    procs[0] = proc(10, "bash", cpu_10s=1.0)  # not focused, no rule
    out, _ = rounds(procs, [grp(*procs)], n=6, classifications={12: MAKE})
    d = out["g"]
    # The build's 135 % is the rule's to handle; the rest (21 %) is not noisy.
    assert d.klass is N and d.class_of(11) is N


def test_load_members_covers_a_load_spread_over_small_processes():
    procs = {p.pid: p for p in [proc(10, "sh"), *(member(20 + i, "w", 10, cpu_10s=6.0) for i in range(10))]}
    group = AppGroup("g", "g", "tree", 1000, 10, tuple(procs))
    picked = load_members(group, procs, skip={29})
    assert len(picked) == 8 and 29 not in picked and 10 not in picked


def test_ancestors_stop_at_the_group_and_at_reused_pids():
    procs = {p.pid: p for p in ide_with_a_build()}
    assert ancestors([14], procs, set(procs)) == {10, 12, 13, 14}
    assert ancestors([14], procs, {13, 14}) == {13, 14}
    procs[12] = member(12, "reused", 10, start_time=999)  # started after its "child" 13
    assert ancestors([14], procs, set(procs)) == {13, 14}


def test_a_critical_leader_rule_stays_with_focus_and_members_keep_theirs():
    procs = ide_with_a_build()
    classes = {10: Classification("game", C, "game", "g.toml:1"), 13: COMPILER}
    out, _ = rounds(procs, [grp(*procs)], classifications=classes, hints=Hints(focused_pids=frozenset({10})))
    assert out["g"].klass is C and out["g"].class_of(13) is BG


def test_a_ppid_cycle_of_equal_start_times_ends_the_walk():
    # /proc read while pids are reused: 21 names 22 its parent and 22 names 21, same start tick.
    procs = [
        proc(10, "code"),
        member(21, "sh", 22, start_time=50),
        member(22, "sh", 21, start_time=50),
        member(23, "cc1", 21, start_time=50, cpu_10s=95.0),
    ]
    out, _ = rounds(procs, [grp(*procs)], classifications={23: COMPILER})
    d = out["g"]
    assert d.classes() == {23: BG}
    assert d.class_of(21) is N and d.class_of(22) is N
    assert ancestors([21], {p.pid: p for p in procs}, {21, 22, 23}) == {21, 22}
