"""A root helper gives the focused app its slice, keeps it over ticks, gives it back on pause and stop."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from smoothdesk.actuator import slices
from smoothdesk.dbus.procref import start_time
from tests.support.polkit import polkit_system_bus
from tests.support.procs import wait_for
from tests.support.users import REPO

pytestmark = pytest.mark.root


def se_slice(pid: int) -> int:
    for line in Path(f"/proc/{pid}/sched").read_text().splitlines():
        if line.startswith("se.slice"):
            return int(line.split(":")[1])
    raise AssertionError("no se.slice")


def ctl(address: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "smoothdesk.cli.main", "--bus", address, *args],
        capture_output=True, text=True, timeout=60, check=False, cwd=REPO,
    )  # fmt: skip


def why(address: str, pid: int, tmp: Path) -> str:
    return ctl(address, "apps", str(pid)).stdout + (tmp / "helper.log").read_text()


def report_focus(address: str, pid: int) -> list[dict[str, object]]:
    call = json.dumps([["ReportFocus", pid, start_time(pid)]])
    out = subprocess.run(
        [sys.executable, "-m", "tests.support.agent", address, call],
        capture_output=True, text=True, timeout=60, check=True, cwd=REPO,
    )  # fmt: skip
    return [json.loads(line) for line in out.stdout.splitlines()]


def test_the_focused_app_keeps_its_slice_across_ticks_and_gets_it_back_on_stop(tmp_path: Path) -> None:
    if not slices.honoured():
        pytest.skip("this kernel does not honour EEVDF custom slices")
    config = tmp_path / "c.toml"
    config.write_text("[helper]\ntick = 0.2\n[rules]\nananicy_dirs = []\n")
    app = subprocess.Popen(["sleep", "600"], start_new_session=True)
    base = se_slice(app.pid)
    try:
        with polkit_system_bus() as address, (tmp_path / "helper.log").open("wb") as log:
            helper = subprocess.Popen(
                [sys.executable, "-m", "smoothdesk.helper.main", "--bus", address, "--config", str(config),
                 "--run-dir", str(tmp_path / "run")],
                stderr=log,
            )  # fmt: skip
            try:
                assert wait_for(lambda: ctl(address, "status").returncode == 0, 15)
                assert all("error" not in a for a in report_focus(address, app.pid))
                assert wait_for(lambda: se_slice(app.pid) == 250_000, 20), why(address, app.pid, tmp_path)
                deadline = time.monotonic() + 2.0  # about 10 ticks: never given back in between
                while time.monotonic() < deadline:
                    assert se_slice(app.pid) == 250_000
                    time.sleep(0.05)
                assert ctl(address, "pause").returncode == 0  # pause gives everything back
                assert wait_for(lambda: se_slice(app.pid) == base, 5)
                assert ctl(address, "resume").returncode == 0
                assert wait_for(lambda: se_slice(app.pid) == 250_000, 10)
            finally:
                helper.send_signal(signal.SIGTERM)
                assert helper.wait(timeout=15) == 0
        assert se_slice(app.pid) == base
    finally:
        app.kill()
        app.wait()


def test_a_slice_left_by_a_killed_helper_is_given_back_by_the_next_one(tmp_path: Path) -> None:
    if not slices.honoured():
        pytest.skip("this kernel does not honour EEVDF custom slices")
    config = tmp_path / "c.toml"
    config.write_text("[helper]\ntick = 0.2\n[rules]\nananicy_dirs = []\n")
    app = subprocess.Popen(["sleep", "600"], start_new_session=True)
    base = se_slice(app.pid)
    argv = [
        sys.executable,
        "-m",
        "smoothdesk.helper.main",
        "--config",
        str(config),
        "--run-dir",
        str(tmp_path / "run"),
    ]
    try:
        with polkit_system_bus() as address, (tmp_path / "helper.log").open("wb") as log:
            first = subprocess.Popen([*argv, "--bus", address], stderr=log)
            try:
                assert wait_for(lambda: ctl(address, "status").returncode == 0, 15)
                report_focus(address, app.pid)
                assert wait_for(lambda: se_slice(app.pid) == 250_000, 20), why(address, app.pid, tmp_path)
            finally:
                first.kill()  # SIGKILL: only the journal knows
                first.wait()
            assert se_slice(app.pid) == 250_000
            second = subprocess.Popen([*argv, "--bus", address], stderr=log)
            try:
                # Recovery gives it back, and with no focus reported it is not set again.
                assert wait_for(lambda: se_slice(app.pid) == base, 15), (tmp_path / "helper.log").read_text()
            finally:
                second.send_signal(signal.SIGTERM)
                assert second.wait(timeout=15) == 0
        assert se_slice(app.pid) == base
    finally:
        app.kill()
        app.wait()
