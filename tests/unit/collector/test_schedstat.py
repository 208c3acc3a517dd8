"""The schedstat reader on a fake /proc: deltas of threads that ran, worst waits, absent until measured."""

from __future__ import annotations

from pathlib import Path

import pytest

from smoothdesk.collector.schedstat import SchedstatReader
from smoothdesk.core.process import ProcessRecord

MS = 1_000_000


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def proc(pid: int, threads: int = 1, start: int = 500) -> ProcessRecord:
    return ProcessRecord(pid=pid, ppid=1, uid=1000, comm="app", start_time=start, threads=threads)


def put(root: Path, task_id: tuple[int, int], run: int, wait: int, slices: int) -> None:
    pid, tid = task_id
    task = root / "proc" / str(pid) / "task" / str(tid)
    task.mkdir(parents=True, exist_ok=True)
    # Rewritten in place (same inode), as the kernel's file is: a held fd sees the new values.
    (task / "schedstat").write_text(f"{run} {wait} {slices}\n")


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_only_threads_that_ran_count_and_nothing_before_a_baseline(tmp_path: Path, clock: Clock) -> None:
    put(tmp_path, (10, 10), 50 * MS, 9 * MS, 40)
    put(tmp_path, (10, 11), 1 * MS, 7 * MS, 3)
    reader = SchedstatReader(tmp_path, clock=clock)
    app = proc(10, threads=2)
    assert reader.read({"focus": [app]}) == {}, "the first read is a baseline, not a wait of 0"
    clock.now += 1.0
    put(tmp_path, (10, 10), 60 * MS, 14 * MS, 41)  # ran once: waited exactly 5 ms
    # thread 11 did not run: its counters stand still and it says nothing
    wait = reader.read({"focus": [app]})["focus"]
    assert (wait.threads, wait.wait_ns, wait.run_ns, wait.slices) == (1, 5 * MS, 10 * MS, 1)
    assert (wait.worst_ns, wait.worst_exact) == (5 * MS, True)
    assert wait.elapsed_s == pytest.approx(1.0)
    assert wait.wait_ms_per_s == pytest.approx(5.0)
    assert wait.top_share == pytest.approx(0.005)
    clock.now += 1.0
    # An app that ran nothing in the tick is measured: it waited 0, which is a figure.
    idle = reader.read({"focus": [app]})["focus"]
    assert (idle.threads, idle.wait_ns, idle.worst_ns) == (0, 0, 0)


def test_worst_wait_is_per_slice_where_the_single_wait_cannot_be_told(tmp_path: Path, clock: Clock) -> None:
    put(tmp_path, (20, 20), 0, 0, 0)
    put(tmp_path, (20, 21), 0, 0, 0)
    reader = SchedstatReader(tmp_path, clock=clock)
    app = proc(20, threads=2)
    reader.read({"focus": [app]})
    clock.now += 0.5
    put(tmp_path, (20, 20), 5 * MS, 40 * MS, 10)  # 4 ms a slice: its worst single wait is >= 4 ms
    put(tmp_path, (20, 21), 1 * MS, 3 * MS, 1)  # exactly 3 ms
    wait = reader.read({"focus": [app]})["focus"]
    assert (wait.threads, wait.wait_ns, wait.slices) == (2, 43 * MS, 11)
    assert (wait.worst_ns, wait.worst_exact) == (4 * MS, False)
    assert wait.wait_ms_per_s == pytest.approx(86.0)  # 43 ms over half a second
    assert wait.top_share == pytest.approx(0.08)


def test_roles_share_one_read_and_a_role_without_processes_is_absent(tmp_path: Path, clock: Clock) -> None:
    put(tmp_path, (30, 30), 0, 0, 0)
    put(tmp_path, (31, 31), 0, 0, 0)
    reader = SchedstatReader(tmp_path, clock=clock)
    roles = {"focus": [proc(30)], "audio": [proc(30), proc(31)], "compositor": []}
    reader.read(roles)
    clock.now += 1.0
    put(tmp_path, (30, 30), 1 * MS, 2 * MS, 1)
    put(tmp_path, (31, 31), 1 * MS, 6 * MS, 2)
    reads = reader.reads
    waits = reader.read(roles)
    assert reader.reads - reads == 2, "a process in two roles is read once"
    assert set(waits) == {"focus", "audio"}
    assert waits["focus"].wait_ns == 2 * MS
    assert waits["audio"].wait_ns == 8 * MS
    assert waits["audio"].worst_ns == 3 * MS


def test_pid_reuse_starts_a_new_baseline(tmp_path: Path, clock: Clock) -> None:
    put(tmp_path, (40, 40), 0, 0, 0)
    reader = SchedstatReader(tmp_path, clock=clock)
    reader.read({"focus": [proc(40, start=1)]})
    clock.now += 1.0
    put(tmp_path, (40, 40), 10 * MS, 900 * MS, 5)  # another process now has pid 40
    assert reader.read({"focus": [proc(40, start=2)]}) == {}
    clock.now += 1.0
    put(tmp_path, (40, 40), 11 * MS, 901 * MS, 6)
    assert reader.read({"focus": [proc(40, start=2)]})["focus"].wait_ns == 1 * MS


def test_threads_come_and_go_and_fds_stay_within_the_cap(tmp_path: Path, clock: Clock) -> None:
    for tid in (50, 51, 52):
        put(tmp_path, (50, tid), 0, 0, 0)
    reader = SchedstatReader(tmp_path, max_fds=2, clock=clock)
    reader.read({"focus": [proc(50, threads=3)]})
    assert reader.open_fds == 2  # the third thread is read by path
    clock.now += 1.0
    for tid in (50, 51, 52):
        put(tmp_path, (50, tid), 1 * MS, 1 * MS, 1)
    assert reader.read({"focus": [proc(50, threads=3)]})["focus"].threads == 3
    # Thread 51 exits and 53 starts: a changed thread count lists the tasks again.
    (tmp_path / "proc/50/task/51/schedstat").unlink()
    (tmp_path / "proc/50/task/51").rmdir()
    put(tmp_path, (50, 53), 7 * MS, 7 * MS, 7)
    clock.now += 1.0
    for tid in (50, 52):
        put(tmp_path, (50, tid), 2 * MS, 3 * MS, 2)
    wait = reader.read({"focus": [proc(50, threads=3)]})["focus"]
    assert (wait.threads, wait.wait_ns) == (2, 4 * MS), "the new thread's first read is its baseline"
    assert reader.open_fds == 2
    # Focus moves elsewhere: the old app's files are closed.
    assert reader.read({"focus": []}) == {}
    assert reader.open_fds == 0


def test_a_process_that_is_gone_is_not_a_zero(tmp_path: Path, clock: Clock) -> None:
    put(tmp_path, (60, 60), 0, 0, 0)
    # By path: a held fd on a fake's unlinked file still reads (the kernel's says ESRCH, see the
    # integration test with a real process).
    reader = SchedstatReader(tmp_path, max_fds=0, clock=clock)
    reader.read({"focus": [proc(60)]})
    clock.now += 1.0
    (tmp_path / "proc/60/task/60/schedstat").unlink()
    assert reader.read({"focus": [proc(60)]}) == {}
    assert reader.read({"focus": [proc(61)]}) == {}  # never existed
    reader.close()
    assert reader.open_fds == 0
