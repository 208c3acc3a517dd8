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


def test_without_a_display_it_shows_the_status_view_and_ctrl_c_restores_and_exits_0(tmp_path: Path) -> None:
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
    try:
        assert wait_for(lambda: "user mode  managing" in out.read_text(errors="replace"), 60), out.read_text()
        text = out.read_text(errors="replace")
        assert "No display (DISPLAY and WAYLAND_DISPLAY are unset)" in text
        time.sleep(1.0)
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        assert proc.wait(timeout=30) == 0, out.read_text()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    text = out.read_text(errors="replace")
    assert "stopped:" in text and "Traceback" not in text, text
