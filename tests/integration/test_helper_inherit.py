"""The whole helper against a build driver that forks without pause: inherited demotions are given
back on stop and after SIGKILL + restart; a restart from a demoted process resets itself first,
and a SIGTERM during its start-up still restores."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from smoothdesk.actuator import CgroupV1Backend
from tests.support.forker import changed, family, spawn_driver
from tests.support.procs import named_binary, sched_state, stop, wait_for
from tests.support.users import REPO

pytestmark = pytest.mark.root

CPU_MOUNT = Path("/sys/fs/cgroup/cpu")
# A rule of this run's own: other helpers on the machine leave it alone, and so do other runs of
# this test (each root helper sees every process, and one name put two helpers on each driver).
NAME = f"sdtb{os.getpid() % 10_000_000}"


class Helper:
    """A real root helper, --bus none, with its own run dir, state dir and cgroup prefix."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.prefix = f"smoothdesk-test-{os.getpid()}"
        rules = tmp / "rules.d"
        rules.mkdir(exist_ok=True)
        (rules / "50-build.toml").write_text(f'[[rule]]\nname = "{NAME}"\nclass = "background"\n')
        self.config = tmp / "config.toml"
        self.config.write_text(
            f"[helper]\ntick = 0.2\n[rules]\nananicy_dirs = []\nextra_dirs = ['{rules}']\n"
            "[engine]\nnoisy_cpu_percent = 10000.0\n"
        )
        self.log = tmp / "helper.log"
        self.env = {**os.environ, "SMOOTHDESK_CGROUP_PREFIX": self.prefix, "SMOOTHDESK_STATE_DIR": str(tmp)}
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def argv(self) -> list[str]:
        return [sys.executable, "-m", "smoothdesk.helper.main", "--bus", "none", "--config", str(self.config),
                "--run-dir", str(self.tmp / "run")]  # fmt: skip

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(self.argv(), cwd=REPO, env=self.env, stderr=log)
        self.starts += 1
        assert wait_for(lambda: self.ready(self.starts), 20), self.log.read_text()

    def ready(self, count: int = 1) -> bool:
        return self.log.read_text().count("running in root mode") >= count

    def signal(self, sig: int) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=20)

    def launcher(self) -> subprocess.Popen[bytes]:
        """A process the rule demotes, which starts a helper (as its child) when it reads a line,
        and says how it exited ("rc=N" in the log)."""
        helper = shlex.join(self.argv())
        cmd = f"read x; exec 2>>{shlex.quote(str(self.log))}; {helper}; echo rc=$? >&2; read y"
        binary = named_binary(self.tmp, NAME)
        return subprocess.Popen([str(binary), "-c", cmd], cwd=REPO, env=self.env, stdin=subprocess.PIPE)


@pytest.fixture
def helper(tmp_path: Path) -> Iterator[Helper]:
    if not (CPU_MOUNT / "cpu.shares").exists():
        pytest.skip("no cgroup v1 cpu hierarchy here")
    h = Helper(tmp_path)
    yield h
    if h.proc is not None and h.proc.poll() is None:
        h.signal(signal.SIGTERM)
    CgroupV1Backend(CPU_MOUNT, prefix=h.prefix).close(clean=True)


def children(pid: int) -> list[int]:
    return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def demoted_children(driver: subprocess.Popen[bytes], baseline: dict[str, object], n: int) -> bool:
    return sched_state(driver.pid)["nice"] == 19 and len(changed(family(driver.pid), baseline)) >= n


def test_children_born_to_a_demoted_build_driver_are_restored_on_stop(helper: Helper) -> None:
    driver = spawn_driver(helper.tmp, NAME)
    try:
        baseline = sched_state(driver.pid)
        helper.start()
        assert wait_for(lambda: demoted_children(driver, baseline, 10), 30), helper.log.read_text()
        assert helper.signal(signal.SIGTERM) == 0
        assert changed(family(driver.pid), baseline) == {}
        assert not (helper.tmp / "run" / "journal.json").exists()
    finally:
        stop(driver)


def test_children_born_after_a_sigkill_are_restored_by_the_restart(helper: Helper) -> None:
    driver = spawn_driver(helper.tmp, NAME)
    try:
        baseline = sched_state(driver.pid)
        helper.start()
        assert wait_for(lambda: demoted_children(driver, baseline, 5), 30), helper.log.read_text()
        helper.signal(signal.SIGKILL)
        known = set(changed(family(driver.pid), baseline))
        # No helper alive: every child born now is demoted and in no journal.
        assert wait_for(lambda: len(set(changed(family(driver.pid), baseline)) - known) >= 5, 30)
        helper.start()
        assert "left by a previous run" in helper.log.read_text()
        assert helper.signal(signal.SIGTERM) == 0
        assert changed(family(driver.pid), baseline) == {}
    finally:
        stop(driver)


def crash_and_relaunch(helper: Helper) -> tuple[subprocess.Popen[bytes], int, dict[str, object]]:
    """A first helper demotes the launcher and is SIGKILLed; the launcher then starts another."""
    launcher = helper.launcher()
    baseline = sched_state(launcher.pid)
    helper.start()
    assert wait_for(lambda: sched_state(launcher.pid)["nice"] == 19, 30), helper.log.read_text()
    helper.signal(signal.SIGKILL)
    assert launcher.stdin is not None
    launcher.stdin.write(b"\n")
    launcher.stdin.flush()
    assert wait_for(lambda: bool(children(launcher.pid)), 10)
    return launcher, children(launcher.pid)[0], baseline


def test_a_helper_started_from_a_demoted_parent_resets_itself(helper: Helper) -> None:
    launcher, pid, baseline = crash_and_relaunch(helper)
    try:
        assert wait_for(lambda: helper.ready(2), 20), helper.log.read_text()
        tids = [int(t) for t in os.listdir(f"/proc/{pid}/task")]
        assert len(tids) > 1  # its threads started after the reset, so they are neutral too
        for tid in tids:
            state = sched_state(tid)
            # Neutral again, then SCHED_BATCH by choice: it shares the launcher's session (helper.main).
            levers = (state["nice"], state["policy"], state["ioprio"], state["cgroup"])
            assert levers == (0, os.SCHED_BATCH, 0, "/"), tid
        assert "started with a demotion of SmoothDesk's; reset:" in helper.log.read_text()
        os.kill(pid, signal.SIGTERM)
        assert wait_for(lambda: "rc=" in helper.log.read_text(), 20)
        assert "rc=0" in helper.log.read_text()
        assert changed([launcher.pid], baseline) == {}  # the first helper's demotion, given back
    finally:
        stop(launcher)
        assert launcher.stdin is not None
        launcher.stdin.close()


def test_a_sigterm_during_start_up_restores(helper: Helper) -> None:
    launcher, pid, baseline = crash_and_relaunch(helper)
    try:
        # nice 0 again: main() reset itself, so its signal handlers are in place; it is far from ready.
        assert wait_for(lambda: sched_state(pid)["nice"] == 0, 20)
        os.kill(pid, signal.SIGTERM)
        assert wait_for(lambda: "rc=" in helper.log.read_text(), 30)
        log = helper.log.read_text()
        assert "rc=0" in log and "stop requested during start-up" in log, log
        assert not helper.ready(2)
        assert changed([launcher.pid], baseline) == {}
        assert not (helper.tmp / "run" / "journal.json").exists(), log
    finally:
        stop(launcher)
        assert launcher.stdin is not None
        launcher.stdin.close()


# Block SIGTERM, send it to ourselves, exec the helper: the signal is pending before its first line.
BLOCKED_EXEC = """
import os, signal, sys
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
os.kill(os.getpid(), signal.SIGTERM)
os.execv(sys.executable, [sys.executable, *sys.argv[1:]])
"""


def test_a_sigterm_sent_before_the_first_line_is_honoured_when_the_launcher_blocked_it(
    helper: Helper,
) -> None:
    driver = spawn_driver(helper.tmp, NAME)
    try:
        baseline = sched_state(driver.pid)
        helper.start()
        assert wait_for(lambda: demoted_children(driver, baseline, 3), 30), helper.log.read_text()
        helper.signal(signal.SIGKILL)
        with helper.log.open("ab") as log:
            argv = [sys.executable, "-c", BLOCKED_EXEC, *helper.argv()[1:]]
            done = subprocess.run(argv, cwd=REPO, env=helper.env, stderr=log, timeout=60, check=False)
            assert done.returncode == 0
        log_text = helper.log.read_text()
        assert "stop requested during start-up" in log_text and not helper.ready(2), log_text
        assert changed(family(driver.pid), baseline) == {}
    finally:
        stop(driver)
