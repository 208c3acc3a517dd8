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
