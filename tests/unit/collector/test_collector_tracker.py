"""ProcessTable: the cheap path, PID reuse, sweeps, windows, and real processes."""

from __future__ import annotations

import contextlib
import math
import os
import subprocess
import sys
import time
from collections import deque
from pathlib import Path

import pytest
from collector_fakes import FakeProc, remove, write_cpu

from smoothdesk.collector.history import window_rate
from smoothdesk.collector.tracker import ProcessTable

TCK = os.sysconf("SC_CLK_TCK")
NEVER = math.inf  # full_every: no rolling reads, no timed listing


def pct(ticks: int, seconds: float) -> float:
    """Percent of one core that `ticks` over `seconds` amounts to."""
    return 100.0 * ticks / (TCK * seconds)


@pytest.fixture
def proc(tmp_path: Path) -> Path:
    path = tmp_path / "proc"
    path.mkdir()
    return path


def test_known_process_is_not_read_in_full_again(proc: Path) -> None:
    app = FakeProc(10, cmdline=("app", "--flag"), cgroup="0::/app.slice/a.service\n")
    app.write(proc)
    table = ProcessTable(proc.parent)
    table.tick(0.0)
    assert table.stats.full_reads == 1
    # Only stat remains: a full read would now lose cmdline, cgroup and uid.
    for name in ("status", "cmdline", "cgroup", "autogroup", "io"):
        (proc / "10" / name).unlink()
    app.utime = 50
    (proc / "10" / "stat").write_text(app.stat_line())
    snap = table.tick(1.0)
    record = snap.processes[10]
    assert table.stats.full_reads == 0
    assert table.stats.cheap_reads == 1
    assert record.cpu_ticks_total == 50
    assert record.cpu_tick == pytest.approx(pct(50, 1.0))
    assert record.cmdline == ("app", "--flag")
    assert record.unit == "a.service"
    assert record.uid == 1000


def test_cheap_read_refreshes_nice_policy_and_state(proc: Path) -> None:
    app = FakeProc(10)
    app.write(proc)
    table = ProcessTable(proc.parent)
    table.tick(0.0)
    app.nice, app.policy, app.state, app.rss_pages = 10, 3, "R", 7
    (proc / "10" / "stat").write_text(app.stat_line())
    record = table.tick(1.0).processes[10]
    assert (record.nice, record.policy, record.state) == (10, 3, "R")
    assert record.rss == 7 * os.sysconf("SC_PAGE_SIZE")
    assert table.stats.full_reads == 0


def test_runnable_process_starved_of_cpu_stays_hot(proc: Path) -> None:
    FakeProc(10, state="R").write(proc)  # runnable, no CPU yet: an overloaded machine
    FakeProc(11, state="S").write(proc)
    table = ProcessTable(proc.parent, full_every=NEVER)
    table.tick(0.0)
    table.tick(1.0)
    assert table.stats.hot == 1
    table.tick(2.0)
    assert table.stats.cheap_reads == 1  # only the runnable one is read
    FakeProc(10, state="R", utime=50).write(proc)
    assert table.tick(3.0).processes[10].cpu_tick == pytest.approx(pct(50, 1.0))


def test_comm_change_triggers_full_reread(proc: Path) -> None:
    app = FakeProc(10, comm="bash", cmdline=("bash",))
    app.write(proc)
    table = ProcessTable(proc.parent)
    table.tick(0.0)
    FakeProc(10, comm="make", cmdline=("make", "-j8")).write(proc)
    record = table.tick(1.0).processes[10]
    assert table.stats.full_reads == 1
    assert record.cmdline == ("make", "-j8")
    assert record.first_seen == 0.0  # same process: history kept


def test_pid_reuse_is_detected_by_start_time(proc: Path) -> None:
    FakeProc(10, comm="old", start=1000, utime=500, cmdline=("old",)).write(proc)
    table = ProcessTable(proc.parent)
    first = table.tick(0.0).processes[10]
    FakeProc(10, comm="old", start=2000, utime=3, cmdline=("new",)).write(proc)
    record = table.tick(1.0).processes[10]
    assert first.start_time == 1000
    assert record.start_time == 2000
    assert record.key != first.key
    assert record.cmdline == ("new",)
    assert record.first_seen == 1.0
    assert record.cpu_tick == 0.0  # no negative or bogus delta from the old process


def test_exited_process_disappears(proc: Path) -> None:
    FakeProc(10).write(proc)
    FakeProc(11).write(proc)
    table = ProcessTable(proc.parent, full_every=2.0)
    table.tick(0.0)
    table.tick(1.0)  # both read once more (new), then cold
    remove(proc, 11)
    snap = table.tick(2.0)  # the timed listing drops it
    assert table.stats.listed
    assert set(snap.processes) == {10}


def test_zombies_are_dropped_and_not_rediscovered(proc: Path) -> None:
    FakeProc(10).write(proc)
    child = FakeProc(11, utime=7)
    child.write(proc)
    table = ProcessTable(proc.parent, full_every=2.0)
    table.tick(0.0)
    child.state = "Z"
    child.write(proc)
    assert 11 not in table.tick(1.0).processes  # hot (new): read, seen dead, dropped
    snap = table.tick(2.0)  # the listing still shows /proc/11 until the parent reaps it
    assert table.stats.listed
    assert 11 not in snap.processes
    assert table.stats.discovered == 0


def test_listing_finds_new_processes_without_events(proc: Path) -> None:
    FakeProc(10).write(proc)
    table = ProcessTable(proc.parent, full_every=2.0)
    table.tick(0.0)
    FakeProc(12, comm="late").write(proc)
    assert 12 not in table.tick(1.0).processes
    assert table.tick(2.0).processes[12].comm == "late"


def _quiet_table(proc: Path, count: int) -> ProcessTable:
    """A table of `count` idle processes that have all gone cold."""
    for pid in range(100, 100 + count):
        FakeProc(pid, comm=f"p{pid}").write(proc)
    write_cpu(proc, user=0)
    table = ProcessTable(proc.parent, full_every=NEVER)
    table.tick(0.0)
    table.tick(1.0)
    table.tick(2.0)
    assert table.stats.hot == 0
    assert table.stats.cheap_reads == 0
    return table


def test_unaccounted_cpu_forces_a_sweep_that_finds_the_woken_process(proc: Path) -> None:
    table = _quiet_table(proc, 20)
    FakeProc(117, comm="p117", utime=80).write(proc)
    write_cpu(proc, user=80)
    record = table.tick(3.0).processes[117]
    assert table.stats.sweep == "unaccounted"
    assert table.stats.unaccounted_pct == pytest.approx(pct(80, 1.0))
    assert table.stats.woken == 1
    assert record.cpu_ticks_total == 80
    assert record.cpu_tick == pytest.approx(pct(80, 2.0))  # since its read at t=1
    assert table.stats.found_pct == pytest.approx(record.cpu_tick)
    # Hot now: the next tick reads it without a sweep.
    FakeProc(117, comm="p117", utime=100).write(proc)
    write_cpu(proc, user=100)
    record = table.tick(4.0).processes[117]
    assert table.stats.sweep == ""
    assert table.stats.cheap_reads == 1
    assert record.cpu_tick == pytest.approx(pct(20, 1.0))


def test_recently_busy_processes_are_suspected_before_a_full_sweep(proc: Path) -> None:
    for pid in range(100, 120):
        FakeProc(pid, comm=f"p{pid}").write(proc)
    write_cpu(proc, user=0)
    table = ProcessTable(proc.parent, full_every=NEVER)
    table.tick(0.0)
    FakeProc(110, comm="p110", utime=10).write(proc)
    write_cpu(proc, user=10)
    table.tick(1.0)  # 110 was busy: recently active from now on
    table.tick(2.0)  # idle again: cold
    table.tick(3.0)
    assert table.stats.hot == 0
    FakeProc(110, comm="p110", utime=90).write(proc)
    write_cpu(proc, user=90)
    record = table.tick(4.0).processes[110]
    assert table.stats.sweep == ""
    assert table.stats.recent_reads == 1
    assert table.stats.cheap_reads == 1
    assert record.cpu_tick == pytest.approx(pct(80, 2.0))  # since its read at t=2
    assert table.stats.unaccounted_pct == pytest.approx(0.0)


def test_fruitless_sweep_suppresses_the_next_ones(proc: Path) -> None:
    table = _quiet_table(proc, 5)
    write_cpu(proc, user=80)  # CPU used by something that already exited
    table.tick(3.0)
    assert table.stats.sweep == "unaccounted"
    assert table.stats.woken == 0
    write_cpu(proc, user=160)
    table.tick(4.0)
    assert table.stats.sweep == ""
    assert table.stats.suppressed
    assert table.stats.cheap_reads == 0


def _sweeps_under_steady_unaccounted_cpu(
    proc: Path, table: ProcessTable, start: int, end: int, extra: int = 0
) -> list[int]:
    """Ticks (1 s apart) that swept while 80 ticks a second go to nothing the table can read."""
    swept = []
    for t in range(start, end):
        write_cpu(proc, user=80 * t + extra)
        table.tick(float(t))
        if table.stats.sweep:
            swept.append(t)
    return swept


def _idle_table(proc: Path) -> ProcessTable:
    for pid in range(100, 105):
        FakeProc(pid, comm=f"p{pid}").write(proc)
    write_cpu(proc, user=0)
    table = ProcessTable(proc.parent, full_every=10.0)
    table.tick(0.0)
    return table


def test_each_further_fruitless_sweep_doubles_the_quiet_time_up_to_a_cap(proc: Path) -> None:
    # Work outside the helper's PID namespace (or processes that exit within a tick) leaves CPU
    # unaccounted for good: the sweeps that cannot explain it come ever more rarely.
    table = _idle_table(proc)
    swept = _sweeps_under_steady_unaccounted_cpu(proc, table, 1, 400)
    # 10 s quiet after the first, then 20, 40, 80, and 80 (QUIET_MAX 8 rounds) from then on.
    assert swept == [1, 11, 31, 71, 151, 231, 311, 391]


def test_a_sweep_that_finds_the_load_resets_the_quiet_time(proc: Path) -> None:
    table = _idle_table(proc)
    assert _sweeps_under_steady_unaccounted_cpu(proc, table, 1, 151) == [1, 11, 31, 71]
    # A sleeper wakes busy just as the next sweep is due, and that sweep finds it.
    woke = 5 * TCK
    FakeProc(103, comm="p103", utime=woke).write(proc)
    write_cpu(proc, user=80 * 151 + woke)
    table.tick(151.0)
    assert table.stats.sweep == "unaccounted"
    assert table.stats.woken == 1
    # Fruitful: back to 10 s of quiet after the next fruitless one, then 20, as at the start.
    swept = _sweeps_under_steady_unaccounted_cpu(proc, table, 152, 200, extra=woke)
    assert swept == [152, 162, 182]


def test_sweep_that_finds_only_a_trickle_counts_as_fruitless(proc: Path) -> None:
    table = _quiet_table(proc, 5)
    FakeProc(102, comm="p102", utime=2).write(proc)  # woke for 2 ticks; 80 went elsewhere
    write_cpu(proc, user=80)
    table.tick(3.0)
    assert table.stats.sweep == "unaccounted"
    assert table.stats.woken == 1
    assert table.stats.found_pct == pytest.approx(pct(2, 2.0))
    write_cpu(proc, user=160)
    table.tick(4.0)
    assert table.stats.suppressed


def test_parent_reaping_busy_children_stays_hot(proc: Path) -> None:
    table = _quiet_table(proc, 3)
    FakeProc(101, comm="p101", cutime=30).write(proc)  # a child burnt 30 ticks, then was reaped
    write_cpu(proc, user=30)
    table.tick(3.0)
    assert table.stats.sweep == "unaccounted"
    assert table.stats.found_pct == 0.0  # the parent itself is not busy
    FakeProc(101, comm="p101", cutime=60).write(proc)
    write_cpu(proc, user=60)
    record = table.tick(4.0).processes[101]
    assert table.stats.cheap_reads == 1  # hot: read every tick
    assert table.stats.unaccounted_pct == pytest.approx(0.0)  # its cutime covered the child
    assert record.cpu_tick == 0.0  # children's time is not the parent's own


def test_child_credit_is_capped_at_one_core(proc: Path) -> None:
    table = _quiet_table(proc, 3)
    FakeProc(101, comm="p101", cutime=30).write(proc)
    write_cpu(proc, user=30)
    table.tick(3.0)
    # Reaping a job tree that ran for a minute: its whole CPU time lands in cutime at once.
    FakeProc(101, comm="p101", cutime=6030).write(proc)
    write_cpu(proc, user=30 + TCK + TCK // 2)
    table.tick(4.0)
    assert table.stats.unaccounted_pct == pytest.approx(50.0)


def test_rolling_reads_cover_every_process_within_full_every(proc: Path) -> None:
    for pid in range(100, 130):
        FakeProc(pid).write(proc)
    table = ProcessTable(proc.parent, full_every=5.0)
    table.tick(0.0)
    table.tick(1.0)
    seen: set[int] = set()
    counts = []
    for step in range(2, 7):
        before = dict(table.processes)
        for pid in before:  # change every stat so that a read shows
            FakeProc(pid, rss_pages=step).write(proc)
        snap = table.tick(float(step))
        counts.append(table.stats.rolling_reads)
        seen |= {pid for pid, rec in snap.processes.items() if rec.rss != before[pid].rss}
    assert seen == set(range(100, 130))
    assert counts == [6] * 5  # 30 processes over 5 ticks, never all at once


def test_settle_reread_picks_up_a_late_cgroup_move(proc: Path) -> None:
    FakeProc(10).write(proc)
    table = ProcessTable(proc.parent, settle=2.0)
    table.tick(0.0)
    child = FakeProc(20, cgroup="0::/user.slice/session-1.scope\n")
    child.write(proc)
    assert table.add_pid(20, 0.5) is not None
    child.cgroup = "0::/user.slice/app.slice/app-gimp-20.scope\n"
    child.write(proc)
    assert table.tick(1.0).processes[20].unit == "session-1.scope"
    assert table.tick(3.0).processes[20].unit == "app-gimp-20.scope"


def test_add_pid_on_exec_keeps_history(proc: Path) -> None:
    FakeProc(10, comm="sh", utime=5, cmdline=("sh",)).write(proc)
    table = ProcessTable(proc.parent)
    table.tick(0.0)
    FakeProc(10, comm="sh", utime=5, cmdline=("sh", "-c", "x")).write(proc)
    record = table.add_pid(10, 0.5)
    assert record is not None
    assert record.cmdline == ("sh", "-c", "x")
    assert record.first_seen == 0.0
    assert table.add_pid(99, 0.5) is None


def test_defer_pid_reads_at_the_next_tick(proc: Path) -> None:
    FakeProc(10).write(proc)
    table = ProcessTable(proc.parent)
    table.tick(0.0)
    FakeProc(30, comm="child").write(proc)
    table.defer_pid(30)
    table.defer_pid(31)  # exited before the tick
    assert 30 not in table.processes
    snap = table.tick(1.0)
    assert snap.processes[30].comm == "child"
    assert 31 not in snap.processes
    assert table.stats.full_reads == 2


def test_forget(proc: Path) -> None:
    FakeProc(10).write(proc)
    table = ProcessTable(proc.parent)
    table.tick(0.0)
    table.forget(10)
    table.forget(12345)
    assert 10 not in table.processes


def test_snapshot_records_are_never_mutated(proc: Path) -> None:
    busy = FakeProc(10)
    busy.write(proc)
    FakeProc(11).write(proc)
    table = ProcessTable(proc.parent)
    table.tick(0.0)
    busy.utime = 10
    busy.write(proc)
    first = table.tick(1.0)
    busy_before = first.processes[10]
    busy.utime = 40
    busy.write(proc)
    second = table.tick(2.0)
    assert busy_before.cpu_ticks_total == 10
    assert second.processes[10].cpu_ticks_total == 40
    assert second.processes[11] is first.processes[11]  # unchanged: shared, not copied


def test_cpu_10s_rises_and_decays_without_reads(proc: Path) -> None:
    hog = FakeProc(10)
    hog.write(proc)
    table = ProcessTable(proc.parent, full_every=NEVER, window=10.0)
    table.tick(0.0)
    for second in (1, 2, 3):
        hog.utime = TCK // 2 * second  # half a core
        hog.write(proc)
        record = table.tick(float(second)).processes[10]
    assert record.cpu_10s == pytest.approx(50.0)
    assert record.cpu_tick == pytest.approx(50.0)
    table.tick(4.0)  # read once more, unchanged: cold from now on
    values = [table.tick(float(t)).processes[10].cpu_10s for t in (8, 12, 14)]
    assert table.stats.cheap_reads == 0
    assert values[0] == pytest.approx(100.0 * (TCK * 1.5) / (TCK * 8))
    assert 0 < values[1] < values[0]
    assert values[2] == 0.0


def test_io_rates_for_hot_processes(proc: Path) -> None:
    app = FakeProc(10, io=(1000, 0))
    app.write(proc)
    table = ProcessTable(proc.parent)
    table.tick(0.0)
    app.utime, app.io = 10, (5000, 2000)
    app.write(proc)
    record = table.tick(2.0).processes[10]
    assert record.io_read_rate == pytest.approx(2000.0)
    assert record.io_write_rate == pytest.approx(1000.0)
    assert table.stats.io_reads == 1
    app.write(proc)  # nothing changed: cold, rates back to 0
    record = table.tick(3.0).processes[10]
    assert (record.io_read_rate, record.io_write_rate, record.cpu_tick) == (0.0, 0.0, 0.0)


def test_stats_breakdown_adds_up(proc: Path) -> None:
    for pid in range(10, 20):
        FakeProc(pid).write(proc)
    table = ProcessTable(proc.parent)
    table.tick(0.0)
    stats = table.stats
    assert stats.sweep == "first"
    assert stats.full_reads == 10
    assert stats.known == 10
    assert stats.full_s > 0
    assert sum(stats.stages().values()) == pytest.approx(stats.total_s, rel=0.01)


def test_window_rate_interpolates_between_sparse_samples() -> None:
    window: deque[tuple[float, int]] = deque([(0.0, 0), (60.0, 600)])
    # 600 ticks spread over 60 s: the last 10 s hold 100 of them, 10 % of one core at 100 Hz.
    assert window_rate(window, 60.0, 600, 10.0, 100) == pytest.approx(10.0)
    assert len(window) == 2
    assert window_rate(deque(), 1.0, 5, 10.0, 100) == 0.0


# Real processes from here on.


def _wait_for_exec(pid: int, program: str) -> None:
    """Wait until exec finished: comm changes before the new cmdline is in place."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            if Path(f"/proc/{pid}/cmdline").read_bytes().startswith(program.encode() + b"\0"):
                return
        except OSError:
            pass
        time.sleep(0.01)
    raise AssertionError(f"pid {pid} never ran {program}")


def _own_ticks(pid: int) -> tuple[float, int]:
    """(time, utime+stime) read directly, to check the table against."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return time.monotonic(), int(fields[11]) + int(fields[12])


def _spawn_busy_loop() -> subprocess.Popen[bytes]:
    """A busy loop in its own session (own autogroup); as root, that autogroup is favoured so
    other sessions' load on this shared machine cannot starve it."""
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=True)
    if os.geteuid() == 0:
        # Without autogroup support the write fails and plain scheduling is fine.
        with contextlib.suppress(OSError):
            Path(f"/proc/{busy.pid}/autogroup").write_text("-10")
    return busy


def test_real_busy_loop_shows_cpu() -> None:
    table = ProcessTable()
    busy = _spawn_busy_loop()
    try:
        table.tick(time.monotonic())
        time.sleep(0.6)
        table.tick(time.monotonic())
        start = _own_ticks(busy.pid)
        time.sleep(0.6)
        record = table.tick(time.monotonic()).processes[busy.pid]
        end = _own_ticks(busy.pid)
    finally:
        busy.kill()
        busy.wait()
    measured = 100.0 * (end[1] - start[1]) / (TCK * (end[0] - start[0]))
    assert record.cpu_tick == pytest.approx(measured, abs=15.0)
    assert record.cpu_tick > 50
    assert record.cpu_10s > 30
    assert record.session == busy.pid  # its own session, as spawned


def test_real_sleep_seen_then_gone() -> None:
    table = ProcessTable(full_every=0.5)
    table.tick(time.monotonic())
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        _wait_for_exec(sleeper.pid, "sleep")
        added = table.add_pid(sleeper.pid, time.monotonic())
        assert added is not None
        assert added.cmdline == ("sleep", "30")
        record = table.tick(time.monotonic()).processes[sleeper.pid]
        assert record.comm == "sleep"
        assert record.cpu_tick == 0.0
    finally:
        sleeper.kill()
        sleeper.wait()
    # Idle, so not read every tick: the timed listing (or an exit event -> forget) drops it.
    time.sleep(0.6)
    snap = table.tick(time.monotonic())
    assert table.stats.listed
    assert sleeper.pid not in snap.processes


def test_real_listing_discovers_a_process_started_later() -> None:
    table = ProcessTable(full_every=0.2)
    table.tick(time.monotonic())
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        _wait_for_exec(sleeper.pid, "sleep")
        time.sleep(0.25)
        snap = table.tick(time.monotonic())
        assert table.stats.listed
        assert snap.processes[sleeper.pid].cmdline == ("sleep", "30")
    finally:
        sleeper.kill()
        sleeper.wait()


def test_real_zombie_is_not_a_process() -> None:
    child = subprocess.Popen(["true"])
    try:
        deadline = time.monotonic() + 5
        while Path(f"/proc/{child.pid}/stat").read_text().split(") ")[1][0] != "Z":
            assert time.monotonic() < deadline
            time.sleep(0.01)
        table = ProcessTable()
        snap = table.tick(time.monotonic())
        assert child.pid not in snap.processes
        assert os.getpid() in snap.processes
    finally:
        child.wait()


def test_real_second_tick_is_cheap() -> None:
    table = ProcessTable()
    table.tick(time.monotonic())
    known = table.stats.known
    time.sleep(0.2)
    table.tick(time.monotonic())
    # Everything is new on the second tick, so it is read by stat; a third is the steady state.
    time.sleep(0.2)
    table.tick(time.monotonic())
    stats = table.stats
    assert stats.full_reads < known / 2
    if not stats.sweep:
        assert stats.cheap_reads < known
