"""The helper's telemetry hub: the focused group's cpu.pressure (on a fake cgroup2 tree), store options."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from smoothdesk.collector.cgroups import unified_mount
from smoothdesk.collector.tracker import ProcessTable
from smoothdesk.config.schema import SAMPLE_METRICS, defaults
from smoothdesk.core.decision import Decision, Hints
from smoothdesk.core.group import AppGroup
from smoothdesk.core.snapshot import Snapshot
from smoothdesk.helper import samples
from smoothdesk.helper.attention import Attention
from smoothdesk.helper.telemetry import Telemetry
from smoothdesk.policy.grouper import group_processes

PRESSURE = (
    "some avg10=31.25 avg60=4.10 avg300=1.00 total=987654\n"
    "full avg10=7.50 avg60=1.50 avg300=0.20 total=12345\n"
)


def observe(
    attention: Attention,
    telemetry: Telemetry,
    snapshot: Snapshot,
    groups: list[AppGroup],
    *,
    decisions: Mapping[str, Decision],
    hints: Hints,
) -> None:
    """The daemon's attention stage, and telemetry reading it, as the tick runs them."""
    telemetry.observe_focus(attention.observe(snapshot, groups, {}, decisions, hints), hints, {})


def fake_unified(root: Path, cgroup: str) -> Path:
    """A hybrid /sys whose unified hierarchy has a cpu.pressure for `cgroup` (a real process's path)."""
    mount = root / "fs" / "cgroup" / "unified"
    group = mount / cgroup.lstrip("/")
    group.mkdir(parents=True, exist_ok=True)
    (mount / "cgroup.controllers").write_text("cpu io memory pids\n")
    (group / "cpu.pressure").write_text(PRESSURE)
    return root


def own_group() -> tuple[Snapshot, list[AppGroup], str]:
    snapshot = ProcessTable(Path("/")).tick(0.0)
    groups = group_processes(snapshot)
    mine = next(g for g in groups if os.getpid() in g.members)
    return snapshot, groups, mine.id


def test_the_focused_groups_pressure_is_read_from_its_leaders_cgroup(tmp_path: Path) -> None:
    snapshot, groups, gid = own_group()
    leader = next(g for g in groups if g.id == gid).leader
    sys_root = fake_unified(tmp_path, snapshot.processes[leader].cgroup)
    figures = samples.foreground_pressure(snapshot, groups, gid, unified_mount(sys_root))
    assert figures == {"fg_cpu_pressure_some_avg10": 31.25, "fg_cpu_pressure_full_avg10": 7.5}
    assert set(figures) <= set(SAMPLE_METRICS)  # SLOs and alerts may watch them


def test_nothing_without_focus_or_without_a_unified_hierarchy(tmp_path: Path) -> None:
    snapshot, groups, gid = own_group()
    assert samples.foreground_pressure(snapshot, groups, None, unified_mount(tmp_path)) == {}
    assert samples.foreground_pressure(snapshot, groups, gid, unified_mount(tmp_path)) == {}
    assert samples.foreground_pressure(snapshot, groups, "tree:gone", unified_mount(tmp_path)) == {}


def test_the_helpers_tick_figures_carry_the_focused_groups_pressure(tmp_path: Path) -> None:
    table = ProcessTable(Path("/"))
    snapshot = table.tick(0.0)
    groups = group_processes(snapshot)
    mine = next(g for g in groups if os.getpid() in g.members)
    sys_root = fake_unified(tmp_path / "sys", snapshot.processes[mine.leader].cgroup)
    settings = defaults()
    attention = Attention("off")
    telemetry = Telemetry(
        settings, user_mode=True, uid=os.getuid(), dry_run=True, state_dir=tmp_path, sys_root=sys_root,
        attention=attention,
    )  # fmt: skip
    try:
        unfocused = telemetry.figures(snapshot, groups, {}, snapshot.monotonic)
        assert "fg_cpu_pressure_some_avg10" not in unfocused
        hints = Hints(focused_pids=frozenset({os.getpid()}))
        observe(attention, telemetry, snapshot, groups, decisions={}, hints=hints)
        focused = telemetry.figures(snapshot, groups, {}, snapshot.monotonic)
        assert focused["fg_cpu_pressure_some_avg10"] == 31.25
        assert samples.storable(focused)["fg_cpu_pressure_full_avg10"] == 7.5
    finally:
        telemetry.stop()


def test_the_store_options_reach_the_snapshot_log(tmp_path: Path) -> None:
    from smoothdesk.config.loader import load_settings

    cfg = tmp_path / "config.toml"
    cfg.write_text("[store]\nraw_hours = 6\nmax_mb = 100\nmax_age_days = 3\n[probe]\nenabled = false\n")
    telemetry = Telemetry(
        load_settings([], cfg), user_mode=True, uid=os.getuid(), dry_run=False, state_dir=tmp_path
    )
    telemetry.start()
    try:
        assert telemetry.writer is not None
        store = telemetry.writer.store
        assert (store.raw_s, store.max_bytes, store.max_age_s) == (6 * 3600, 100 * 2**20, 3 * 86400)
    finally:
        telemetry.stop()


def test_every_decision_change_is_logged_while_unchanged_ones_are_not_resent(tmp_path: Path) -> None:
    import dataclasses

    from smoothdesk.config.loader import load_settings
    from smoothdesk.core.classes import PriorityClass
    from smoothdesk.core.decision import Decision, Reason
    from smoothdesk.helper.history import History
    from smoothdesk.telemetry.store import SnapshotStore

    cfg = tmp_path / "config.toml"
    cfg.write_text("[store]\ndetail_every = 3600\n[probe]\nenabled = false\n")
    attention = Attention("off")
    telemetry = Telemetry(
        load_settings([], cfg), user_mode=True, uid=os.getuid(), dry_run=False, state_dir=tmp_path,
        attention=attention,
    )  # fmt: skip
    telemetry.start()
    snapshot = ProcessTable(Path("/")).tick(0.0)
    groups = group_processes(snapshot)
    decisions = {
        g.id: Decision(g.id, PriorityClass.NORMAL, (Reason("default", "no rule matched"),)) for g in groups
    }
    history = History(1.0)
    first = groups[0].id
    try:
        for t, change in enumerate([None, None, PriorityClass.BACKGROUND, None, PriorityClass.IDLE]):
            if change is not None:  # a new dict and object, as the daemon makes for a changed group
                decisions = {**decisions, first: dataclasses.replace(decisions[first], klass=change)}
            elif t == 3:  # an equal new object for every group: logged by nobody twice
                decisions = {gid: dataclasses.replace(d) for gid, d in decisions.items()}
            observe(attention, telemetry, snapshot, groups, decisions=decisions, hints=Hints())
            sample = history.record(snapshot, 0, 0.001, wall=1000.0 + t)
            figures = telemetry.figures(snapshot, groups, decisions, snapshot.monotonic)
            figures.pop("top_apps")
            sample.update(figures)  # as the daemon builds it
            telemetry.after_tick(snapshot, groups, decisions, sample)
    finally:
        telemetry.stop()
    store = SnapshotStore.open(tmp_path / "snapshots.sqlite")
    logged = store.decisions(0.0)
    store.close()
    assert len([r for r in logged if r[0] == 1000.0]) == len(groups)  # the first tick: all of them
    assert [(ts, klass) for ts, gid, klass, _ in logged if ts > 1000.0] == [
        (1002.0, "background"),
        (1004.0, "idle"),
    ]
