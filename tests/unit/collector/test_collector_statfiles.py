"""Kept-open stat files, on real processes: an exit, a reused pid and an exec are never missed."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from smoothdesk.collector.statfiles import StatFiles
from smoothdesk.collector.tracker import ProcessTable


@pytest.fixture
def sleeper():
    procs: list[subprocess.Popen[bytes]] = []

    def start(*argv: str) -> subprocess.Popen[bytes]:
        p = subprocess.Popen(list(argv or ("sleep", "30")))
        procs.append(p)
        return p

    yield start
    for p in procs:
        p.kill()
        p.wait()


def _gone(p: subprocess.Popen[bytes]) -> None:
    p.kill()
    p.wait()  # reaped: its pid and /proc entry are free


def test_a_kept_file_reads_like_the_path_and_an_exit_forgets_it(sleeper) -> None:
    files = StatFiles(limit=8)
    p = sleeper()
    path = f"/proc/{p.pid}/stat"
    first = files.read(p.pid, path)
    assert first is not None and first.startswith(f"{p.pid} (sleep)".encode())
    assert p.pid in files
    again = files.read(p.pid, path)
    assert again is not None and again.split()[:4] == Path(path).read_bytes().split()[:4]
    _gone(p)
    assert files.read(p.pid, path) is None
    assert p.pid not in files and len(files) == 0


def test_a_file_of_an_exited_process_is_never_read_as_whoever_has_the_pid_now(sleeper) -> None:
    # The kernel answers ESRCH through an fd whose process is gone, even once its pid is reused;
    # the read then goes by path, as a read without an fd would, and sees the pid's new owner
    # (here another process's path stands in for a reused pid).
    files = StatFiles(limit=8)
    old, new = sleeper(), sleeper("sleep", "31")
    assert files.read(old.pid, f"/proc/{old.pid}/stat") is not None
    _gone(old)
    data = files.read(old.pid, f"/proc/{new.pid}/stat")
    assert data is not None and data.startswith(f"{new.pid} (".encode())
    assert old.pid not in files  # the dead process's fd was closed, not kept


def test_past_the_limit_processes_are_read_by_path(sleeper) -> None:
    files = StatFiles(limit=1)
    a, b = sleeper(), sleeper()
    assert files.read(a.pid, f"/proc/{a.pid}/stat") is not None
    assert files.read(b.pid, f"/proc/{b.pid}/stat") is not None
    assert len(files) == 1 and a.pid in files and b.pid not in files
    files.close()
    assert len(files) == 0


def test_the_table_sees_an_exec_and_an_exit_through_its_kept_files() -> None:
    script = "import os, sys; sys.stdin.readline(); os.execv('/bin/sleep', ['sleep', '30'])"
    p = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE)
    try:
        table = ProcessTable(full_every=0.01)  # every known process is re-read each tick
        table.tick(time.monotonic())  # read in full, by path
        table.tick(time.monotonic())  # re-read: through a kept file from now on
        before = table.processes[p.pid]
        assert "-c" in before.cmdline and p.pid in table._stat_files
        assert p.stdin is not None
        p.stdin.write(b"go\n")
        p.stdin.flush()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and table.processes[p.pid].comm != "sleep":
            time.sleep(0.2)
            table.tick(time.monotonic())
        after = table.processes[p.pid]
        assert (after.comm, after.cmdline) == ("sleep", ("sleep", "30"))
        assert after.start_time == before.start_time  # the same process, re-read in full
    finally:
        _gone(p)
        assert p.stdin is not None
        p.stdin.close()
    table.tick(time.monotonic())
    assert p.pid not in table.processes and p.pid not in table._stat_files
