"""No test leaves a process behind: a leak fails the run and names the test; a hung or killed pytest
still takes its processes with it (tests/support/reaper.py). The leaking tests are in reaper_cases.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.support.procs import named_binary, spawn_sleeper, stop, wait_for

REPO = Path(__file__).resolve().parents[2]
CASES = "tests/integration/reaper_cases.py"


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat[stat.rfind(")") + 2] not in "ZX"


def inner(case: str, tmp: Path, *options: str) -> subprocess.Popen[str]:
    """pytest on one case of reaper_cases.py, in its own process, with a 3 s timeout."""
    env = {**os.environ, "SD_REAPER_CASE_DIR": str(tmp)}
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-o", "timeout=3", *options]
    return subprocess.Popen(
        [*cmd, f"{CASES}::{case}"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(proc: subprocess.Popen[str]) -> tuple[int, str]:
    try:
        out, _ = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, out


def recorded(tmp: Path) -> list[int]:
    pids = [int(x) for x in (tmp / "pids").read_text().split()]
    assert len(pids) == 3  # hog, shell, and the shell's sleep
    return pids


def test_stop_kills_the_child_a_named_shell_forked(tmp_path: Path) -> None:
    shell = spawn_sleeper(named_binary(tmp_path, "sdstopsh"))
    path = Path(f"/proc/{shell.pid}/task/{shell.pid}/children")
    assert wait_for(lambda: path.read_text().strip() != "", 10)
    (sleep,) = map(int, path.read_text().split())
    stop(shell)
    assert wait_for(lambda: not alive(sleep), 10)


def test_a_leak_fails_the_run_and_names_the_test(tmp_path: Path) -> None:
    code, out = finish(inner("test_leaves_processes", tmp_path))
    pids = recorded(tmp_path)
    assert code == 1, out
    assert "1 passed" in out and "processes left running" in out, out
    assert out.count("reaper_cases.py::test_leaves_processes (call)") == 3, out
    assert not [p for p in pids if alive(p)], out


def test_a_timed_out_test_leaves_nothing(tmp_path: Path) -> None:
    # pytest-timeout's default (signal) method fails the test and pytest carries on to the session end.
    code, out = finish(inner("test_hangs_with_processes", tmp_path))
    pids = recorded(tmp_path)
    assert code == 1 and "Timeout" in out, out
    assert "reaper_cases.py::test_hangs_with_processes (call)" in out, out
    assert not [p for p in pids if alive(p)], out


def test_a_timed_out_test_whose_fixture_stops_its_processes_is_no_leak(tmp_path: Path) -> None:
    code, out = finish(inner("test_hangs_with_a_fixture_that_stops_its_processes", tmp_path))
    pids = recorded(tmp_path)
    assert code == 1 and "Timeout" in out, out
    assert "processes left running" not in out, out
    assert not [p for p in pids if alive(p)], out


def test_the_thread_timeout_method_exits_at_once_and_the_watchdog_kills(tmp_path: Path) -> None:
    # timeout_method=thread ends pytest with os._exit: no teardown and no session end in the process.
    code, out = finish(inner("test_hangs_with_processes", tmp_path, "-o", "timeout_method=thread"))
    pids = recorded(tmp_path)
    assert code == 1 and "Timeout" in out, out
    assert wait_for(lambda: not [p for p in pids if alive(p)], 15), out


def test_a_sigkilled_pytest_leaves_nothing(tmp_path: Path) -> None:
    proc = inner("test_hangs_with_processes", tmp_path, "-o", "timeout=60")
    try:
        assert wait_for((tmp_path / "pids").exists, 60)
        pids = recorded(tmp_path)
        assert all(alive(p) for p in pids)
        proc.send_signal(signal.SIGKILL)
    finally:
        code, out = finish(proc)
    assert code == -signal.SIGKILL
    assert wait_for(lambda: not [p for p in pids if alive(p)], 15), out
