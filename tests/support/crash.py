"""Run a writer script in a child process and SIGKILL it mid-write, for the log's crash tests."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def kill_mid_write(
    script: str, args: Sequence[str], *, ready: Callable[[list[str]], bool], delay: float
) -> list[str]:
    """Run `python -c script *args`, which prints "problems 0" once its store is open and then
    lines; SIGKILL it `delay` s after `ready(lines so far)`. Returns every line it printed."""
    proc = subprocess.Popen(
        [sys.executable, "-c", script, *args], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    lines: list[str] = []
    try:
        assert proc.stdout.readline() == "problems 0\n"
        while not ready(lines):
            line = proc.stdout.readline()
            assert line, "the writer died on its own"
            lines.append(line.strip())
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        lines += [line.strip() for line in proc.stdout.read().splitlines()]
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
    return lines
