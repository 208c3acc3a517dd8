"""The helper yields to apps: SCHED_IDLE where it competes through a CPU group of its own (its
session's autogroup, or a cpu cgroup only its session uses), SCHED_BATCH where it shares one."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from smoothdesk.actuator.alone import alone_in_cpu_group
from tests.support.procs import stop, wait_for
from tests.support.users import REPO

pytestmark = pytest.mark.root
CPU_MOUNT = Path("/sys/fs/cgroup/cpu")


def sleeper(new_session: bool) -> subprocess.Popen[bytes]:
    return subprocess.Popen(["sleep", "600"], start_new_session=new_session)


@pytest.fixture
def cpu_group() -> Iterator[Path]:
    if not (CPU_MOUNT / "cgroup.procs").exists():
        pytest.skip("no cgroup v1 cpu hierarchy here")
    group = CPU_MOUNT / f"sd-alone-{os.getpid()}"
    group.mkdir()
    try:
        yield group
    finally:
        for pid in (group / "cgroup.procs").read_text().split():
            (CPU_MOUNT / "cgroup.procs").write_text(pid)
        group.rmdir()


def test_only_a_session_leader_at_the_root_cpu_group_is_alone() -> None:
    if Path("/proc/sys/kernel/sched_autogroup_enabled").read_text().strip() != "1":
        pytest.skip("autogroup is off here: nobody is alone at the root")
    leader, member = sleeper(True), sleeper(False)
    try:
        assert alone_in_cpu_group(pid=leader.pid)
        assert not alone_in_cpu_group(pid=member.pid)  # it shares this test's session and autogroup
    finally:
        stop(leader, member)


def test_a_cpu_cgroup_is_its_own_until_another_session_joins(cpu_group: Path) -> None:
    leader, foreign = sleeper(True), sleeper(True)
    try:
        (cpu_group / "cgroup.procs").write_text(str(leader.pid))
        assert alone_in_cpu_group(pid=leader.pid)
        (cpu_group / "cgroup.procs").write_text(str(foreign.pid))
        assert not alone_in_cpu_group(pid=leader.pid)
    finally:
        stop(leader, foreign)


def test_a_v2_cgroup_is_weighed_where_the_cpu_controller_is(tmp_path: Path) -> None:
    # This machine runs cgroup v1 controllers: the v2 layout is a tree of files (a systemd user
    # slice whose app.slice has the cpu controller, so each scope is weighed through app.slice).
    leader = sleeper(True)
    proc, v2 = tmp_path / "proc", tmp_path / "cgroup2"
    try:
        me = proc / str(leader.pid)
        me.mkdir(parents=True)
        (me / "mountinfo").write_text(f"30 1 0:26 / {v2} rw - cgroup2 cgroup2 rw,nsdelegate\n")
        (me / "cgroup").write_text("0::/app.slice/app-ide.scope\n")
        (me / "stat").write_text(f"{leader.pid} (ide) S 1 {leader.pid} {leader.pid} 0\n")
        (proc / "sys/kernel").mkdir(parents=True)
        (proc / "sys/kernel/sched_autogroup_enabled").write_text("1\n")
        scope, other = v2 / "app.slice/app-ide.scope", v2 / "app.slice/app-build.scope"
        for d in (scope, other):
            d.mkdir(parents=True)
            (d / "cgroup.procs").write_text("")
        (scope / "cgroup.procs").write_text(f"{leader.pid}\n")
        assert alone_in_cpu_group(proc, leader.pid)  # no cpu.weight anywhere: the autogroup
        (v2 / "app.slice/cpu.weight").write_text("100\n")
        assert alone_in_cpu_group(proc, leader.pid)
        (proc / "4242").mkdir()
        (proc / "4242/stat").write_text("4242 (make) R 1 4242 4242 0\n")
        (other / "cgroup.procs").write_text("4242\n")
        assert not alone_in_cpu_group(proc, leader.pid)  # a build in a sibling scope shares app.slice
        (scope / "cpu.weight").write_text("100\n")
        assert alone_in_cpu_group(proc, leader.pid)
    finally:
        stop(leader)


def helper_policies(tmp_path: Path, new_session: bool) -> set[int]:
    """The policy of every thread of a real root helper (--dry-run) once it runs its tick loop."""
    log = tmp_path / f"helper-{new_session}.log"
    argv = [sys.executable, "-m", "smoothdesk.helper.main", "--bus", "none", "--dry-run",
            "--run-dir", str(tmp_path / "run"), "--state-dir", str(tmp_path / "state")]  # fmt: skip
    env = {**os.environ, "SMOOTHDESK_CGROUP_PREFIX": f"smoothdesk-test-{os.getpid()}"}
    with log.open("wb") as f:
        helper = subprocess.Popen(argv, cwd=REPO, env=env, stderr=f, start_new_session=new_session)
    try:
        assert wait_for(lambda: b"running in root mode" in log.read_bytes(), 30), log.read_text()
        tids = [int(t) for t in os.listdir(f"/proc/{helper.pid}/task")]
        return {os.sched_getscheduler(t) for t in tids}
    finally:
        helper.terminate()
        helper.wait(timeout=30)


def test_the_helper_is_sched_idle_in_a_session_of_its_own(tmp_path: Path) -> None:
    assert helper_policies(tmp_path, new_session=True) == {os.SCHED_IDLE}


def test_the_helper_stays_sched_batch_in_a_shared_session(tmp_path: Path) -> None:
    assert helper_policies(tmp_path, new_session=False) == {os.SCHED_BATCH}
