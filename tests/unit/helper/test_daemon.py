"""A helper built in-process by wiring.build on a fake /proc: the tick, the fast path, exits, the status."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from helper_config import quiet_config

from smoothdesk.core.classes import PriorityClass
from smoothdesk.core.group import AppGroup
from smoothdesk.helper.options import Options
from smoothdesk.helper.status import HelperStatus
from smoothdesk.helper.wiring import Helper, build
from tests.unit.collector.collector_fakes import FakeProc, copy_samples, remove

# Pids far above this machine's, so that the helper's own pid never lands among them.
SHELL, MAKE, CC1, CC2 = 9_000_001, 9_000_002, 9_000_003, 9_000_004
CONFIG = quiet_config("off")


def proc_of(pid: int, comm: str, ppid: int, utime: int = 0) -> FakeProc:
    # One session and process group: one app ("build"), whose compilers are its load.
    return FakeProc(pid, comm=comm, ppid=ppid, pgrp=SHELL, session=SHELL, uid=0, utime=utime,
                    cmdline=(comm,), exe=f"/usr/bin/{comm}", start=5000 + pid % 100)  # fmt: skip


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Helper, Path]]:
    proc = copy_samples(tmp_path)
    proc_of(SHELL, "bash", 1).write(proc)
    proc_of(MAKE, "make", SHELL).write(proc)
    proc_of(CC1, "cc1plus", MAKE, utime=10).write(proc)
    config = tmp_path / "config.toml"
    config.write_text(CONFIG)
    options = Options(
        dry_run=True,  # the fake pids may be real ones on this machine: never touch them
        config=config,
        proc_root=tmp_path,
        sys_root=tmp_path / "sys",
        run_dir=tmp_path / "run",
        state_dir=tmp_path / "state",
        rules_write_path=tmp_path / "rules.toml",
    )
    helper = build(options)
    try:
        yield helper, proc
    finally:
        helper.telemetry.stop()


def group_of(status: HelperStatus, pid: int) -> AppGroup:
    return next(g for g in status.groups.values() if pid in g.members)


def member_class(status: HelperStatus, pid: int) -> PriorityClass:
    decision = status.decisions[group_of(status, pid).id]
    return decision.class_of(pid)


def test_a_tick_over_a_fake_process_table_decides_and_the_status_shows_it(world: tuple[Helper, Path]) -> None:
    helper, _ = world
    before = helper.daemon.status()
    assert (before.ticks, len(before.processes), before.system) == (0, 0, None)
    helper.daemon.tick(100.0)
    helper.daemon.tick(101.0)
    status = helper.daemon.status()
    assert status.ticks == 2 and status.dry_run and status.cgroup_backend == "off"
    assert {SHELL, MAKE, CC1} <= status.processes.keys()
    build_app = group_of(status, SHELL)
    assert {MAKE, CC1} <= set(build_app.members)
    assert member_class(status, CC1) is PriorityClass.BACKGROUND  # the compiler rule
    assert member_class(status, SHELL) is PriorityClass.NORMAL
    # The status taken before the ticks is a value: the ticks did not move it.
    assert (before.ticks, len(before.processes)) == (0, 0)
    assert helper.daemon.status() is status  # nothing changed since: not rebuilt


def test_a_tick_that_changes_no_decision_keeps_the_decisions_dict(world: tuple[Helper, Path]) -> None:
    """Readers (the snapshot log's decision log) tell "nothing changed" by identity."""
    helper, proc = world
    helper.daemon.tick(100.0)
    first = helper.daemon.tick(101.0)
    assert helper.daemon.tick(102.0) is first
    proc_of(CC2, "cc1plus", MAKE, utime=10).write(proc)  # a second compiler joins the build
    helper.daemon.tick(130.0)  # long past the table's full_every: /proc is listed again
    changed = helper.daemon.tick(131.0)
    assert changed is not first and member_class(helper.daemon.status(), CC2) is PriorityClass.BACKGROUND
    same = [gid for gid, d in changed.items() if gid in first and d is first[gid]]
    assert same and all(changed[g] == first[g] for g in same)  # unchanged groups keep their objects


def test_the_status_cannot_be_written(world: tuple[Helper, Path]) -> None:
    helper, _ = world
    helper.daemon.tick(100.0)
    status = helper.daemon.status()
    with pytest.raises(dataclasses.FrozenInstanceError):
        status.ticks = 7  # type: ignore[misc]
    with pytest.raises(TypeError):
        status.processes[1] = status.processes[SHELL]  # type: ignore[index]
    gid = next(iter(status.decisions))
    with pytest.raises(TypeError):
        del status.decisions[gid]  # type: ignore[attr-defined]


def test_new_processes_reads_groups_decides_and_counts_them_at_once(world: tuple[Helper, Path]) -> None:
    helper, proc = world
    daemon = helper.daemon
    daemon.tick(100.0)
    before = daemon.status()
    proc_of(CC2, "cc1plus", MAKE).write(proc)
    daemon.new_processes({CC2, 9_000_099}, 100.2)  # the second has no /proc entry: gone already
    status = daemon.status()
    assert status.fast_path_count == 1
    assert CC2 in status.processes and CC2 not in before.processes
    assert CC2 in group_of(status, SHELL).members
    assert member_class(status, CC2) is PriorityClass.BACKGROUND
    assert before.fast_path_count == 0


def test_the_fast_path_waits_for_the_first_tick_and_stops_while_paused(world: tuple[Helper, Path]) -> None:
    helper, proc = world
    daemon = helper.daemon
    assert not daemon.accepts_events
    proc_of(CC2, "cc1plus", MAKE).write(proc)
    daemon.new_processes({CC2}, 99.0)  # before any tick there is nothing to add to
    assert daemon.status().fast_path_count == 0
    daemon.tick(100.0)
    assert daemon.accepts_events
    daemon.set_paused(float("inf"))
    assert not daemon.accepts_events and daemon.status().paused_until == float("inf")
    daemon.set_paused(None)
    assert daemon.accepts_events


def test_process_exited_forgets_the_process_and_the_next_tick_its_group(world: tuple[Helper, Path]) -> None:
    helper, proc = world
    daemon = helper.daemon
    daemon.tick(100.0)
    daemon.tick(101.0)
    cc1_group = group_of(daemon.status(), CC1).id
    for pid in (CC1, MAKE, SHELL):
        remove(proc, pid)
        daemon.process_exited(pid)
    status = daemon.status()
    assert not {CC1, MAKE, SHELL} & status.processes.keys()
    daemon.tick(102.0)
    status = daemon.status()
    assert cc1_group not in status.groups and cc1_group not in status.decisions


def test_the_controller_reads_the_status_and_pins_through_the_daemon(world: tuple[Helper, Path]) -> None:
    helper, _ = world
    daemon, controller = helper.daemon, helper.controller
    daemon.tick(100.0)
    gid = group_of(daemon.status(), SHELL).id
    app = controller.app(str(MAKE))
    assert app["id"] == gid and app["pinned"] == "" and CC1 in app["pids"]
    assert controller.status()["processes"] == len(daemon.status().processes)
    controller.set_class(0, gid, "idle", 0)
    assert daemon.status().pins[gid].klass is PriorityClass.IDLE
    daemon.tick(101.0)
    assert daemon.status().decisions[gid].klass is PriorityClass.IDLE
    assert controller.app(gid)["pinned"] == "idle"
    controller.clear_class(0, gid)
    assert gid not in daemon.status().pins


def test_memory_protection_is_a_stage_of_the_tick_whose_plan_telemetry_only_reports(
    world: tuple[Helper, Path],
) -> None:
    helper, proc = world
    daemon, controller = helper.daemon, helper.controller
    pressure = proc / "pressure" / "memory"
    pressure.write_text(
        "some avg10=40.00 avg60=20.00 avg300=5.00 total=123\nfull avg10=2.00 avg60=1.00 avg300=0.00 total=9\n"
    )
    daemon.tick(100.0)
    plan = helper.telemetry.memory_plan
    assert plan is not None and plan.active and plan.psi_some == 40.0 and plan.psi_full == 2.0
    (alert,) = [a for a in controller.alerts() if a["id"] == "memory:guard"]
    assert alert["severity"] == "warning" and "PSI some 40%" in alert["message"]
    pressure.write_text(
        "some avg10=0.00 avg60=0.00 avg300=0.00 total=123\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=9\n"
    )
    t = 101.0
    while helper.telemetry.memory_plan is not None and helper.telemetry.memory_plan.active and t < 400:
        daemon.tick(t)
        t += 1.0
    assert t < 400, "the stage never released"
    assert not [a for a in controller.alerts() if a["id"] == "memory:guard"]
