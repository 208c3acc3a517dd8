"""The `smoothdesk` program as real processes: single instance, clean exit on SIGTERM, bad arguments."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.gui.conftest import UserHelper
from tests.support.procs import wait_for


def app(bus: str, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "smoothdesk.gui.app", "--bus", bus, "--no-agent"], stderr=out, env=env
        )


def test_second_start_activates_the_first_and_exits_0(user_helper: UserHelper, tmp_path: Path) -> None:
    socket = Path(os.environ["XDG_RUNTIME_DIR"]) / "smoothdesk-tray.sock"
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    first = app(user_helper.bus, first_log)
    try:
        assert wait_for(socket.exists, 30), first_log.read_text()
        second = app(user_helper.bus, second_log)
        assert second.wait(timeout=60) == 0, second_log.read_text()
        assert "already running" in second_log.read_text()
        assert wait_for(lambda: "activated by a second start" in first_log.read_text(), 30), (
            first_log.read_text()
        )
        assert first.poll() is None
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=30) == 0, first_log.read_text()
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(timeout=10)
    assert not socket.exists()  # a clean exit removes it


def test_a_crashed_instance_does_not_block_the_next(user_helper: UserHelper, tmp_path: Path) -> None:
    socket = Path(os.environ["XDG_RUNTIME_DIR"]) / "smoothdesk-tray.sock"
    crashed = app(user_helper.bus, tmp_path / "crashed.log")
    assert wait_for(socket.exists, 30)
    crashed.kill()
    crashed.wait(timeout=10)
    stale = socket.stat().st_ino
    log = tmp_path / "next.log"
    proc = app(user_helper.bus, log)
    try:
        assert wait_for(lambda: socket.exists() and socket.stat().st_ino != stale, 30), log.read_text()
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, log.read_text()


def test_bad_bus_argument_is_named(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "smoothdesk.gui.app", "--bus", "nonsense"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 2
    assert "--bus" in out.stderr and "nonsense" in out.stderr
