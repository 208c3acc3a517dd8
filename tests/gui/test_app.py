"""The `smoothdesk` program as real processes: single instance, clean exit on SIGTERM, bad arguments."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from socket import AF_UNIX, SOCK_STREAM
from socket import socket as unix_socket

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
    first, second = app(user_helper.bus, first_log), None
    try:
        assert wait_for(socket.exists, 60), first_log.read_text()
        second = app(user_helper.bus, second_log)
        assert second.wait(timeout=60) == 0, second_log.read_text()
        assert "already running" in second_log.read_text()
        assert wait_for(lambda: "activated by a second start" in first_log.read_text(), 30), (
            first_log.read_text()
        )
        assert first.poll() is None
    finally:
        code = stop_app(first, first_log)
        if second is not None and second.poll() is None:
            stop_app(second, second_log)
    assert code == 0, first_log.read_text()
    assert not socket.exists()  # a clean exit removes it


def listening(path: Path) -> bool:
    """Someone accepts connections on `path` (a connection that sends nothing activates nothing)."""
    with unix_socket(AF_UNIX, SOCK_STREAM) as sock:
        try:
            sock.connect(str(path))
        except OSError:
            return False
    return True


def stop_app(proc: subprocess.Popen[bytes], log: Path) -> int:
    """SIGTERM and wait generously (a loaded machine); killed, never left running, if it does not exit."""
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
        raise AssertionError(f"no exit within 60 s of SIGTERM:\n{log.read_text()}") from None


def test_a_crashed_instance_does_not_block_the_next(user_helper: UserHelper, tmp_path: Path) -> None:
    socket = Path(os.environ["XDG_RUNTIME_DIR"]) / "smoothdesk-tray.sock"
    crashed_log = tmp_path / "crashed.log"
    crashed = app(user_helper.bus, crashed_log)
    try:
        assert wait_for(socket.exists, 60), crashed_log.read_text()
    finally:
        crashed.kill()
        crashed.wait(timeout=10)
    # SIGKILL leaves the socket file behind, with nobody listening. (Not compared by inode: a file
    # system may give the new socket the inode just freed, which made this test flaky.)
    assert socket.exists() and not listening(socket)
    log = tmp_path / "next.log"
    proc = app(user_helper.bus, log)
    try:
        assert wait_for(lambda: listening(socket), 60), log.read_text()
        assert proc.poll() is None, log.read_text()
    finally:
        code = stop_app(proc, log)
    assert code == 0, log.read_text()
    assert not socket.exists()


def test_sigterm_while_starting_is_a_clean_exit(user_helper: UserHelper, tmp_path: Path) -> None:
    # SIGTERM the moment the socket appears, long before the event loop runs: it used to kill the
    # app outright (no handler yet) or be lost (QApplication.quit() before exec() is a no-op).
    socket = Path(os.environ["XDG_RUNTIME_DIR"]) / "smoothdesk-tray.sock"
    log = tmp_path / "app.log"
    proc = app(user_helper.bus, log)
    try:
        assert wait_for(socket.exists, 60, interval=0.001), log.read_text()
    finally:
        code = stop_app(proc, log)
    assert code == 0, log.read_text()
    assert not socket.exists()


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
