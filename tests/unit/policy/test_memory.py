"""MemoryGuard: hysteresis, whom it protects, whom it names, and that it kills only when told to."""

from __future__ import annotations

from dataclasses import replace

import pytest

from smoothdesk.config.schema import defaults
from smoothdesk.core import AppGroup, Decision, PriorityClass, ProcessRecord, Reason
from smoothdesk.core.process import SCHED_FIFO
from smoothdesk.policy.memory import MemoryGuard, MemoryPlan, MemorySettings, MiB

ME = 1000
DEFAULTS = MemorySettings.from_section(defaults().values["memory"])


def proc(pid: int, rss_mib: int, **kw: object) -> ProcessRecord:
    return ProcessRecord(
        pid=pid,
        ppid=1,
        uid=int(kw.pop("uid", ME)),
        comm=f"p{pid}",
        start_time=pid * 10,
        rss=rss_mib * MiB,
        **kw,
    )  # type: ignore[arg-type]


GROUPS = [
    AppGroup("unit:app-editor.scope", "editor", "unit", ME, 10, (10, 11), unit="app-editor.scope"),
    AppGroup("tree:build", "make", "tree", ME, 20, (20, 21)),
    AppGroup("tree:browser", "browser", "tree", ME, 30, (30,)),
    AppGroup("tree:pipewire", "pipewire", "tree", ME, 40, (40,)),
    AppGroup("tree:compositor", "kwin", "tree", ME, 50, (50,)),
    AppGroup("tree:small", "tiny", "tree", ME, 60, (60,)),
]
PROCS = {
    p.pid: p
    for p in (
        proc(10, 300),
        proc(11, 100),
        proc(20, 900),
        proc(21, 700),
        proc(30, 1200),
        proc(40, 50, policy=SCHED_FIFO),
        proc(50, 400),
        proc(60, 10),
    )
}


def dec(gid: str, klass: PriorityClass, **kw: object) -> Decision:
    return Decision(gid, klass, (Reason("test", "x"),), **kw)  # type: ignore[arg-type]


DECISIONS = {
    "unit:app-editor.scope": dec("unit:app-editor.scope", PriorityClass.INTERACTIVE),
    "tree:build": dec("tree:build", PriorityClass.BACKGROUND),
    "tree:browser": dec("tree:browser", PriorityClass.NORMAL),
    "tree:pipewire": dec("tree:pipewire", PriorityClass.CRITICAL),
    "tree:compositor": dec("tree:compositor", PriorityClass.CRITICAL),
    "tree:small": dec("tree:small", PriorityClass.IDLE),
}
FOCUSED = "unit:app-editor.scope"


def tick(guard: MemoryGuard, now: float, some: float, full: float = 0.0, **kw: object) -> MemoryPlan:
    args: dict[str, object] = {
        "focused": FOCUSED,
        "groups": GROUPS,
        "decisions": DECISIONS,
        "processes": PROCS,
    }
    args.update(kw)
    return guard.update(now, some, full, **args)  # type: ignore[arg-type]


def test_quiet_machine_plans_nothing() -> None:
    plan = tick(MemoryGuard(DEFAULTS), 0.0, 9.9)
    assert plan == MemoryPlan(False, 9.9, 0.0) and plan.alert is None


def test_protects_focused_and_critical_with_memory_low_on_the_focused_unit_only() -> None:
    plan = tick(MemoryGuard(DEFAULTS), 0.0, 10.0)
    assert plan.active
    by_id = {o.group_id: o for o in plan.protect}
    # pipewire is realtime: never touched, so not protected either
    assert set(by_id) == {"unit:app-editor.scope", "tree:compositor"}
    editor = by_id["unit:app-editor.scope"]
    assert [k.pid for k in editor.keys] == [10, 11] and editor.oom_score_adj == -500
    assert (editor.unit, editor.memory_low) == ("app-editor.scope", 256 * MiB)
    assert by_id["tree:compositor"].memory_low == 0


def test_names_the_largest_background_user_in_the_alert() -> None:
    plan = tick(MemoryGuard(DEFAULTS), 0.0, 25.0, 5.0)
    assert plan.largest is not None
    assert (plan.largest.name, plan.largest.rss) == ("make", 1600 * MiB)  # 900 + 700 beats 1200
    assert plan.alert == "memory pressure: PSI some 25%, full 5%; largest background user: make (1600 MiB)"
    # the fallback raises the largest background groups by the mirror value, never foreground ones
    assert [(e.group_id, e.oom_score_adj) for e in plan.expose] == [
        ("tree:build", 500),
        ("tree:browser", 500),
        ("tree:small", 500),
    ]


def test_hysteresis_holds_until_thirty_seconds_below_half() -> None:
    guard = MemoryGuard(DEFAULTS)
    assert tick(guard, 0.0, 12.0).active
    assert tick(guard, 1.0, 7.0).active  # below the threshold but not below half
    assert tick(guard, 2.0, 4.0).active  # below half: the clock starts
    assert tick(guard, 31.0, 4.9).active
    assert tick(guard, 31.5, 5.0).active  # back at half: the clock resets
    assert tick(guard, 32.0, 1.0).active
    assert tick(guard, 61.9, 1.0).active
    assert not tick(guard, 62.0, 1.0).active
    assert not tick(guard, 63.0, 9.0).active  # off again until the threshold itself is reached


def test_protect_off_still_alerts_but_pulls_no_lever() -> None:
    plan = tick(MemoryGuard(replace(DEFAULTS, protect=False)), 0.0, 50.0)
    assert plan.active and plan.protect == () and plan.expose == () and plan.alert is not None


def test_never_kills_by_default_however_long_the_pressure() -> None:
    guard = MemoryGuard(DEFAULTS)
    plans = [tick(guard, float(t), 95.0, 90.0) for t in range(0, 600, 5)]
    assert all(p.kill is None for p in plans)


def test_kill_opt_in_needs_full_pressure_held_for_kill_after() -> None:
    guard = MemoryGuard(replace(DEFAULTS, kill=True))
    assert tick(guard, 0.0, 80.0, 70.0).kill is None
    assert tick(guard, 29.9, 80.0, 70.0).kill is None
    kill = tick(guard, 30.0, 80.0, 70.0).kill
    assert kill is not None and kill.group_id == "tree:build"
    assert [k.pid for k in kill.keys] == [20, 21] and "PSI full 70%" in kill.reason
    # one kill, then the condition has to hold for kill_after again
    assert tick(guard, 31.0, 80.0, 70.0).kill is None
    assert tick(guard, 60.0, 80.0, 70.0).kill is not None


def test_kill_wait_restarts_when_full_pressure_drops() -> None:
    guard = MemoryGuard(replace(DEFAULTS, kill=True))
    tick(guard, 0.0, 80.0, 70.0)
    tick(guard, 20.0, 80.0, 59.0)
    assert tick(guard, 30.0, 80.0, 70.0).kill is None
    assert tick(guard, 60.0, 80.0, 70.0).kill is not None


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({}, "tree:build"),
        # the focused group is never a victim, however big
        ({"focused": "tree:build"}, "tree:browser"),
        # a guardrailed group (manage=False, or with exempt members) is never a victim
        (
            {
                "decisions": {
                    **DECISIONS,
                    "tree:build": dec("tree:build", PriorityClass.BACKGROUND, manage=False),
                }
            },
            "tree:browser",
        ),
        (
            {
                "decisions": {
                    **DECISIONS,
                    "tree:build": dec("tree:build", PriorityClass.BACKGROUND, exempt=frozenset({21})),
                }
            },
            "tree:browser",
        ),
        # interactive and critical classes are never victims
        (
            {"decisions": {**DECISIONS, "tree:build": dec("tree:build", PriorityClass.INTERACTIVE)}},
            "tree:browser",
        ),
        # a group holding pid 1, a kernel thread or another user's process (user mode) is skipped
        ({"processes": {**PROCS, 21: replace(PROCS[21], pid=1)}}, "tree:browser"),
        ({"processes": {**PROCS, 21: replace(PROCS[21], kernel_thread=True)}}, "tree:browser"),
        ({"processes": {**PROCS, 21: replace(PROCS[21], uid=0)}}, "tree:browser"),
    ],
)
def test_kill_victim_rules(change: dict[str, object], expected: str) -> None:
    guard = MemoryGuard(replace(DEFAULTS, kill=True, kill_after=1.0), user_uid=ME)
    tick(guard, 0.0, 90.0, 80.0, **change)
    kill = tick(guard, 1.0, 90.0, 80.0, **change)
    assert kill.kill is not None and kill.kill.group_id == expected


def test_no_eligible_victim_means_no_kill() -> None:
    guard = MemoryGuard(replace(DEFAULTS, kill=True, kill_after=1.0), user_uid=0)  # nothing is root's
    tick(guard, 0.0, 90.0, 80.0)
    assert tick(guard, 1.0, 90.0, 80.0).kill is None


def test_settings_from_the_config_section() -> None:
    section = {**defaults().values["memory"], "memory_low": 64, "kill": True, "kill_after": 9.0}
    s = MemorySettings.from_section(section)
    assert (s.memory_low, s.kill, s.kill_after) == (64 * MiB, True, 9.0)  # memory_low is in MiB there
    assert (DEFAULTS.memory_low, DEFAULTS.kill) == (256 * MiB, False)
