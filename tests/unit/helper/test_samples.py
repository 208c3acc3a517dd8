"""The tick's latency figures: a starved probe counts as the worst latency, not as missing data."""

from __future__ import annotations

from pathlib import Path

from smoothdesk.collector.tracker import ProcessTable
from smoothdesk.helper import samples
from smoothdesk.telemetry.latency import stalled, summarize

MS = 1_000_000


def test_a_stalled_window_reaches_the_sample_and_sinks_the_score() -> None:
    snapshot = ProcessTable(Path("/")).tick(0.0)
    smooth = summarize([50_000] * 250, 4 * MS, 1.0)
    stall = stalled(0.9, 4 * MS, 1.0)
    assert samples.latency_figures(None) == {}
    figures = samples.latency_figures(stall)
    assert figures["latency_p99_ms"] == 900.0
    assert figures["latency_missed"] == 225.0
    assert samples.score(stall, snapshot) < samples.score(smooth, snapshot)
    assert samples.score(stall, snapshot) < samples.score(None, snapshot)


def test_cpu_is_summed_per_busy_group_and_per_class() -> None:
    from smoothdesk.core import AppGroup, ProcessRecord, Snapshot, SystemStats
    from smoothdesk.core.classes import PriorityClass
    from smoothdesk.core.decision import Decision

    procs = {
        1: ProcessRecord(pid=1, ppid=0, uid=0, start_time=0, comm="cc1", cpu_tick=80.0),
        2: ProcessRecord(pid=2, ppid=0, uid=0, start_time=0, comm="cc1", cpu_tick=40.0),
        3: ProcessRecord(pid=3, ppid=0, uid=0, start_time=0, comm="bash"),
        4: ProcessRecord(pid=4, ppid=0, uid=0, start_time=0, comm="firefox", cpu_tick=10.0),
    }
    snapshot = Snapshot(0.0, 0.0, SystemStats(ncpu=2), procs)
    build = AppGroup("tree:build", "make", "tree", 0, 1, (1, 2, 3))
    shell = AppGroup("tree:shell", "bash", "tree", 0, 3, (3,))
    browser = AppGroup("unit:ff", "firefox", "app", 0, 4, (4, 99))  # 99 has gone
    used = samples.group_cpu(snapshot, [build, shell, browser])
    assert used == [(build, 120.0), (browser, 10.0)]  # the idle shell is not summed
    decisions = {"tree:build": Decision("tree:build", PriorityClass.BACKGROUND, ())}
    by_class = samples.cpu_by_class(used, decisions, snapshot.system.ncpu)
    assert by_class == {"critical": 0.0, "interactive": 0.0, "normal": 5.0, "background": 60.0, "idle": 0.0}
    assert samples.top_apps(used) == [{"name": "make", "cpu": 120.0}, {"name": "firefox", "cpu": 10.0}]


def test_cpu_wait_roles_and_figures_come_only_from_what_is_known() -> None:
    from smoothdesk.collector.schedstat import CpuWait
    from smoothdesk.config.schema import SAMPLE_METRICS
    from smoothdesk.core import AppGroup, ProcessRecord, Snapshot, SystemStats
    from smoothdesk.core.classes import PriorityClass
    from smoothdesk.core.decision import Hints
    from smoothdesk.core.group import Classification

    procs = {
        p: ProcessRecord(pid=p, ppid=1, uid=0, start_time=0, comm=c)
        for p, c in ((10, "firefox"), (11, "firefox"), (20, "sway"), (30, "mpv"))
    }
    snapshot = Snapshot(0.0, 0.0, SystemStats(ncpu=2), procs)
    browser = AppGroup("unit:ff", "firefox", "app", 0, 10, (10, 11, 99))  # 99 has gone
    comp = {20: Classification("compositor", PriorityClass.CRITICAL, "sway", "40-system.toml:13")}
    roles = samples.wait_roles(snapshot, browser, Hints(audio_pids=frozenset({30, 98})), comp)
    assert {r: [p.pid for p in ps] for r, ps in roles.items()} == {
        "focus": [10, 11],
        "audio": [30],
        "compositor": [20],
    }
    # No focus source, no audio agent, no compositor known: no roles at all, so no figures.
    assert samples.wait_roles(snapshot, None, Hints(), {}) == {}

    wait = CpuWait(0.5, 2, 7_000_000, 20_000_000, 4, 3_000_000, True, 0.01)
    figures = samples.cpu_wait_figures({"focus": wait})
    assert figures == {"focus_cpu_wait_ms": 14.0, "focus_cpu_wait_max_ms": 3.0, "focus_cpu_wait_pct": 1.0}
    assert set(figures) <= set(SAMPLE_METRICS)  # SLOs and alerts may watch them
    calm = samples.score(None, snapshot)
    quick = CpuWait(1.0, 1, 500_000, 1_000_000, 1, 500_000, True, 0.0005)
    assert samples.score(None, snapshot, waits={"focus": quick}) == calm  # 0.5 ms: nobody notices
    assert samples.score(None, snapshot, waits={"focus": wait}) < calm
    slow = CpuWait(1.0, 1, 30_000_000, 1_000_000, 1, 30_000_000, True, 0.03)
    assert samples.score(None, snapshot, waits={"focus": wait, "compositor": slow}) < calm


def test_the_helpers_tick_figures_carry_the_focused_processes_wait(tmp_path: Path) -> None:
    import os
    import time

    from smoothdesk.config.schema import defaults
    from smoothdesk.core.decision import Hints
    from smoothdesk.helper.attention import Attention
    from smoothdesk.helper.telemetry import Telemetry
    from smoothdesk.policy.grouper import group_processes

    table = ProcessTable(Path("/"))
    attention = Attention("off")
    telemetry = Telemetry(
        defaults(), user_mode=True, uid=os.getuid(), dry_run=True, state_dir=tmp_path, attention=attention
    )
    try:
        for _ in range(2):
            snapshot = table.tick(time.monotonic())
            groups = group_processes(snapshot)
            telemetry.observe_focus(attention.observe(snapshot, groups, {}, {}, Hints()), Hints(), {})
            unfocused = telemetry.figures(snapshot, groups, {}, snapshot.monotonic)
        assert not any(k.startswith("focus_cpu_wait") for k in unfocused), "no focus source: absent"
        assert "focus_app" not in unfocused
        hints = Hints(focused_pids=frozenset({os.getpid()}))
        for _ in range(2):  # the first read is the baseline
            end = time.thread_time() + 0.02
            while time.thread_time() < end:
                pass
            snapshot = table.tick(time.monotonic())
            groups = group_processes(snapshot)
            telemetry.observe_focus(attention.observe(snapshot, groups, {}, {}, hints), hints, {})
            focused = telemetry.figures(snapshot, groups, {}, snapshot.monotonic)
        mine = next(g for g in groups if os.getpid() in g.members)
        assert focused["focus_app"] == mine.name
        assert focused["focus_cpu_wait_ms"] >= 0.0 and 0.0 <= focused["focus_cpu_wait_pct"] <= 100.0
        assert "focus_cpu_wait_ms" in samples.storable(focused) and "focus_app" not in samples.storable(
            focused
        )
        assert telemetry.wait_threads >= 1
        doctor = {f["key"]: f for f in telemetry.findings()}
        assert doctor["cpu wait"]["status"] == "ok" and "threads" in doctor["cpu wait"]["summary"]
    finally:
        telemetry.stop()
