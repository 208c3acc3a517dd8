"""A real smoothdesk-helper process on a test bus, and smoothdeskctl against it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from tests.support.procs import sched_state, wait_for

CONFIG = """
[helper]
tick = 0.2
[rules]
ananicy_dirs = []
"""


def ctl(bus: str, *args: str) -> Any:
    out = subprocess.run(
        [sys.executable, "-m", "smoothdesk.cli.main", "--bus", bus, "--json", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout) if out.stdout.strip() else None


class Helper:
    def __init__(self, bus: str, tmp: Path) -> None:
        self.bus = bus
        self.tmp = tmp
        self.config = tmp / "config.toml"
        self.config.write_text(CONFIG)
        self.run_dir = tmp / "run"
        self.log = tmp / "helper.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self._spawn(log)
        assert wait_for(self.answers, 15), self.log.read_text()

    def _spawn(self, log: BinaryIO) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "smoothdesk.helper.main",
                "--bus",
                self.bus,
                "--config",
                str(self.config),
                "--run-dir",
                str(self.run_dir),
            ],
            stderr=log,
        )

    def answers(self) -> bool:
        r = subprocess.run(
            [sys.executable, "-m", "smoothdesk.cli.main", "--bus", self.bus, "status"],
            capture_output=True,
            check=False,
            timeout=30,
        )
        return r.returncode == 0

    def signal(self, sig: int) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=15)


@pytest.fixture
def helper(bus_address: str, tmp_path: Path) -> Iterator[Helper]:
    h = Helper(bus_address, tmp_path)
    yield h
    if h.proc is not None and h.proc.poll() is None:
        h.signal(signal.SIGTERM)


def demoted(pid: int) -> bool:
    s = sched_state(pid)
    return s["nice"] != 0 or s["policy"] != 0 or s["cgroup"] != "/"
