"""`smoothdesk-helper --recover`, the unit's ExecStopPost: a real helper demotes a real process and
is SIGKILLed (as a SIGTERM before main()'s first line, or systemd's stop timeout, would end it),
then the recovery-only run restores what the journal says and exits, with no bus and no tick."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from smoothdesk.actuator import CgroupV1Backend
from tests.integration.test_helper_inherit import CPU_MOUNT, Helper
from tests.support.forker import changed
from tests.support.procs import sched_state, stop, wait_for
from tests.support.users import REPO

pytestmark = pytest.mark.root

UNIT = REPO / "packaging/systemd/system/smoothdesk-helper.service"


@pytest.fixture
def crashed(tmp_path: Path) -> Iterator[Helper]:
    if not (CPU_MOUNT / "cpu.shares").exists():
        pytest.skip("no cgroup v1 cpu hierarchy here")
    h = Helper(tmp_path)
    yield h
    if h.proc is not None and h.proc.poll() is None:
        h.signal(signal.SIGTERM)
    CgroupV1Backend(CPU_MOUNT, prefix=h.prefix).close(clean=True)


def recover(helper: Helper) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "smoothdesk.helper.main", "--recover", "--config", str(helper.config),
            "--run-dir", str(helper.tmp / "run")]  # fmt: skip
    return subprocess.run(
        argv, cwd=REPO, env=helper.env, capture_output=True, text=True, timeout=60, check=False
    )


def test_recover_restores_what_a_sigkilled_helper_left_and_exits(crashed: Helper) -> None:
    launcher = crashed.launcher()  # matched by the test's rule: background (nice 19, a cgroup)
    try:
        baseline = sched_state(launcher.pid)
        crashed.start()
        assert wait_for(lambda: sched_state(launcher.pid)["nice"] == 19, 30), crashed.log.read_text()
        crashed.signal(signal.SIGKILL)
        journal = crashed.tmp / "run" / "journal.json"
        assert journal.exists() and changed([launcher.pid], baseline)  # nobody restored it
        done = recover(crashed)
        assert done.returncode == 0, done.stderr
        restored = re.search(r"recover: restored (\d+) changes", done.stderr)
        assert restored and int(restored.group(1)) >= 1, done.stderr
        assert "running in" not in done.stderr  # no bus, no tick: recovery only
        assert changed([launcher.pid], baseline) == {}
        assert not journal.exists()
        again = recover(crashed)  # ExecStopPost runs on every stop: with no journal, a no-op
        assert again.returncode == 0 and "nothing to do" in again.stderr, again.stderr
    finally:
        stop(launcher)
        assert launcher.stdin is not None
        launcher.stdin.close()


def test_the_unit_recovers_after_every_stop() -> None:
    lines = [
        line for line in UNIT.read_text(encoding="utf-8").splitlines() if line.startswith("ExecStopPost=")
    ]
    assert lines == ["ExecStopPost=/usr/bin/smoothdesk-helper --recover"]
