"""Tests that leak processes on purpose, run only by test_process_hygiene.py in a pytest of their own.

The file name does not match test_*.py, so a normal run never collects it; named on the command line,
pytest runs it with the real tests/conftest.py. Each case writes the pids it started to
$SD_REAPER_CASE_DIR/pids before it leaks or hangs.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.procs import named_binary, spawn_hog, spawn_sleeper, stop, wait_for

CASE_DIR = os.environ.get("SD_REAPER_CASE_DIR", "")
pytestmark = pytest.mark.skipif(not CASE_DIR, reason="run by test_process_hygiene.py only")
# Held until exit, so a leaked Popen is not collected (and warned about) while a test still runs.
_leaked: list[subprocess.Popen[bytes]] = []


def children(pid: int) -> list[int]:
    return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def start_and_record(directory: Path) -> list[subprocess.Popen[bytes]]:
    """A hog, and a named shell whose `sleep 600` is a child of its own; every pid goes to the file."""
    hog = spawn_hog(named_binary(directory, "sdreaphog"))
    shell = spawn_sleeper(named_binary(directory, "sdreapsh"))
    assert wait_for(lambda: len(children(shell.pid)) == 1, 10)
    pids = [hog.pid, shell.pid, *children(shell.pid)]
    part = Path(CASE_DIR) / "pids.part"
    part.write_text(" ".join(map(str, pids)))
    part.rename(part.with_name("pids"))  # whole, so the outer test never reads half of it
    _leaked.extend([hog, shell])
    return [hog, shell]


@pytest.fixture
def stopped_hogs(tmp_path: Path) -> Iterator[None]:
    procs = start_and_record(tmp_path)
    yield
    stop(*procs)


def test_leaves_processes(tmp_path: Path) -> None:
    start_and_record(tmp_path)


def test_hangs_with_processes(tmp_path: Path) -> None:
    start_and_record(tmp_path)
    time.sleep(600)


def test_hangs_with_a_fixture_that_stops_its_processes(stopped_hogs: None) -> None:
    time.sleep(600)
