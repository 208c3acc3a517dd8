"""`make run`'s script without a display: the live status view, then Ctrl-C stops it cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from tests.support.procs import wait_for
from tests.support.tools import needs

REPO = Path(__file__).resolve().parents[2]
VENV = REPO / ".venv" / "bin" / "smoothdesk-helper"

pytestmark = needs([] if VENV.exists() else [str(VENV)], "the make run test")


def session_buses() -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "cmdline").read_bytes().startswith(b"dbus-daemon\0--session\0"):
                    found.add(int(entry.name))
            except OSError:
                continue
    return found


def start(tmp_path: Path) -> tuple[subprocess.Popen[bytes], Path]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS")
    }
    out = tmp_path / "run.log"
    with out.open("wb") as log:
        proc = subprocess.Popen(
            [str(REPO / "scripts" / "run.sh")],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    assert wait_for(lambda: "user mode  managing" in out.read_text(errors="replace"), 60), out.read_text()
    return proc, out


def ctrl_c_and_check(proc: subprocess.Popen[bytes], out: Path, buses_before: set[int]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        assert proc.wait(timeout=30) == 0, out.read_text()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    text = out.read_text(errors="replace")
    assert "stopped:" in text and "Traceback" not in text, text
    assert wait_for(lambda: session_buses() <= buses_before, 10), "the script's session bus outlived it"


def test_without_a_display_it_shows_the_status_view_and_ctrl_c_restores_and_exits_0(tmp_path: Path) -> None:
    buses_before = session_buses()
    proc, out = start(tmp_path)
    assert "No display (DISPLAY and WAYLAND_DISPLAY are unset)" in out.read_text(errors="replace")
    time.sleep(1.0)
    ctrl_c_and_check(proc, out, buses_before)


def test_ctrl_c_after_the_helper_already_stopped_still_cleans_up(tmp_path: Path) -> None:
    # With the tray app in front, the helper often finishes before the script's trap runs.
    buses_before = session_buses()
    proc, out = start(tmp_path)
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    helper = next(int(c) for c in children if b"smoothdesk-helper" in Path(f"/proc/{c}/cmdline").read_bytes())
    os.kill(helper, signal.SIGTERM)
    assert wait_for(lambda: "stopped:" in out.read_text(errors="replace"), 30), out.read_text()
    ctrl_c_and_check(proc, out, buses_before)
