"""Demotions inherited by fork (actuator.inherit): a real build driver keeps forking after we demote it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from smoothdesk.actuator import Actuator, CgroupV1Backend, LeverSet
from smoothdesk.actuator.syscalls import IOPRIO_CLASS_BE, ioprio_value
from smoothdesk.collector.netlink import ProcConnector
from smoothdesk.core import AppGroup, Decision, PriorityClass, ProcessRecord, Reason
from tests.support.forker import changed, family, spawn_driver
from tests.support.procs import sched_state, stop, wait_for
from tests.support.users import REPO

pytestmark = pytest.mark.root

CPU_MOUNT = Path("/sys/fs/cgroup/cpu")
BG = PriorityClass.BACKGROUND
# No autogroup lever: the driver shares pytest's session. The cgroup move keeps the default weight:
# at weight 1 a driver starved behind other agents' loads and forked too few children in 30 s.
LEVERS = {BG: LeverSet(nice=19, ioprio=(IOPRIO_CLASS_BE, 7), cpu_weight=100)}


def record(pid: int) -> ProcessRecord:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return ProcessRecord(pid=pid, ppid=int(fields[1]), uid=0, comm="make", start_time=int(fields[19]))


def demote(act: Actuator, pid: int) -> None:
    group = AppGroup("t:make", "make", "tree", 0, pid, (pid,))
    act.apply({"t:make": Decision("t:make", BG, (Reason("test", "x"),))}, [group], {pid: record(pid)})


@pytest.fixture
def prefix() -> Iterator[str]:
    if not (CPU_MOUNT / "cpu.shares").exists():
        pytest.skip("no cgroup v1 cpu hierarchy here")
    name = f"smoothdesk-test-{os.getpid()}"
    yield name
    group = CPU_MOUNT / name / "background"
    if group.exists():  # a failed test: put everything back so the group can go
        for pid in (group / "cgroup.procs").read_text().split():
            (CPU_MOUNT / "cgroup.procs").write_text(pid)
    CgroupV1Backend(CPU_MOUNT, prefix=name).close(clean=True)


def test_children_born_after_the_demotion_are_restored_on_stop(tmp_path: Path, prefix: str) -> None:
    driver = spawn_driver(tmp_path)
    try:
        baseline = sched_state(driver.pid)
        act = Actuator(
            tmp_path / "run", levers=LEVERS, cgroup_backend=CgroupV1Backend(CPU_MOUNT, prefix=prefix)
        )
        demote(act, driver.pid)
        # The kernel hands the demotion down: every child born now is at nice 19 in our group.
        # (One forked between our cgroup and nice writes has only the first.)
        whole = {"nice": 19, "ioprio": ioprio_value(IOPRIO_CLASS_BE, 7), "cgroup": f"/{prefix}/background"}
        assert wait_for(
            lambda: sum(d == whole for d in changed(family(driver.pid), baseline).values()) >= 5, 30
        )
        report = act.restore_all()
        # The sweep found them (no event or tick told the actuator): the driver and its children,
        # less the 30 ms foreground sleeps among the five that exited before the sweep read /proc.
        assert report.restored >= 3, report
        assert changed(family(driver.pid), baseline) == {}
        assert not (CPU_MOUNT / prefix).exists()
        assert not (tmp_path / "run" / "journal.json").exists()
    finally:
        stop(driver)


def test_fork_events_journal_each_child_with_its_parents_originals(tmp_path: Path, prefix: str) -> None:
    driver = spawn_driver(tmp_path)
    connector = ProcConnector()
    try:
        connector.open()
        os.setpriority(os.PRIO_PROCESS, driver.pid, 3)  # the parent's own nice: the child's original
        baseline = sched_state(driver.pid)
        older = set(family(driver.pid))  # born at nice 0, before the driver's own nice 3
        act = Actuator(
            tmp_path / "run", levers=LEVERS, cgroup_backend=CgroupV1Backend(CPU_MOUNT, prefix=prefix)
        )
        connector.read_events()  # what came before the demotion is not ours
        demote(act, driver.pid)
        forks: list[tuple[int, int, int]] = []
        adopted = 0

        def forked() -> bool:
            # Each batch as it is read, as the helper's fast path does: on a busy machine the
            # driver takes seconds for ten forks, and a `sleep 4` child is gone by then.
            nonlocal adopted
            batch = [(e.pid, e.child_pid, e.parent_tid) for e in connector.read_events() if e.kind == "fork"]
            adopted += act.adopt_forks(batch)
            forks.extend(batch)
            return adopted >= 5 and sum(f[0] == driver.pid for f in forks) >= 10

        assert wait_for(forked, 30, interval=0.1), (adopted, forks)
        mine = [f for f in forks if f[0] == driver.pid]
        entries = {k.pid: e for k, e in act._data.procs.items() if e.parent is not None}
        # Every child alive and demoted is journaled (the `sleep 0.03` in the foreground are gone,
        # and one forked just before the demotion inherited nothing).
        assert {c for _, c, _ in mine} & set(changed(family(driver.pid), baseline)) <= set(entries)
        cgroups = {c.member.pid: c for c in act._data.cgroups.values() if c.member is not None}
        # One forked between our cgroup and nice writes inherited the cgroup alone: take one with both.
        child = next((pid for _, pid, _ in mine if pid in entries and pid in cgroups), None)
        assert child is not None, (entries, cgroups)
        assert entries[child].parent == record(driver.pid).key
        assert entries[child].klass == "background"
        (thread,) = entries[child].threads.values()
        assert (thread.orig.nice, thread.set.nice) == (3, 19)
        assert thread.set.ioprio == ioprio_value(IOPRIO_CLASS_BE, 7) != thread.orig.ioprio
        assert cgroups[child].original == {"path": "/"} and cgroups[child].parent is not None
        act.restore_all()
        assert changed([p for p in family(driver.pid) if p not in older], baseline) == {}
    finally:
        connector.close()
        stop(driver)


# Demote the driver from a child process, then hang until SIGKILLed: only the journal remains.
CRASHER = """
import json, sys
from pathlib import Path
from smoothdesk.actuator import Actuator, CgroupV1Backend, LeverSet
from smoothdesk.actuator.syscalls import IOPRIO_CLASS_BE
from tests.integration.test_actuator_inherit import BG, CPU_MOUNT, LEVERS, demote
run_dir, prefix, pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
act = Actuator(Path(run_dir), levers=LEVERS, cgroup_backend=CgroupV1Backend(CPU_MOUNT, prefix=prefix))
demote(act, pid)
print("demoted", flush=True)
sys.stdin.readline()
"""


def test_children_born_after_a_crash_are_restored_by_recovery(tmp_path: Path, prefix: str) -> None:
    driver = spawn_driver(tmp_path)
    crasher = subprocess.Popen(
        [sys.executable, "-c", CRASHER, str(tmp_path / "run"), prefix, str(driver.pid)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        baseline = sched_state(driver.pid)
        assert crasher.stdout is not None and crasher.stdout.readline() == b"demoted\n"
        crasher.kill()
        crasher.wait()
        journal = json.loads((tmp_path / "run" / "journal.json").read_text())
        assert [p["key"]["pid"] for p in journal["procs"]] == [driver.pid]  # it knew only the driver

        # Children (and orphans, whose parent exited) keep being born demoted with no helper alive.
        def orphans() -> list[int]:
            return [p for p in changed(family(driver.pid), baseline) if _parent(p) not in (driver.pid, 0)]

        assert wait_for(lambda: len(changed(family(driver.pid), baseline)) >= 10 and bool(orphans()), 30)
        act = Actuator(
            tmp_path / "run", levers=LEVERS, cgroup_backend=CgroupV1Backend(CPU_MOUNT, prefix=prefix)
        )
        act.recover()
        assert changed(family(driver.pid), baseline) == {}
        assert not (tmp_path / "run" / "journal.json").exists()
    finally:
        crasher.kill()
        crasher.wait()
        assert crasher.stdin is not None and crasher.stdout is not None
        crasher.stdin.close()
        crasher.stdout.close()
        stop(driver)


def test_a_drivers_family_holds_its_own_orphans_and_no_other_drivers(tmp_path: Path) -> None:
    # Other tests on the machine (other agents', CI runs) run drivers and sdorphans of their own,
    # demoted by actuators of their own: counted as ours, they failed the restore checks here.
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a, b = spawn_driver(tmp_path / "a"), spawn_driver(tmp_path / "b")
    try:

        def orphans(driver: subprocess.Popen[bytes]) -> set[int]:
            return {p for p in family(driver.pid) if _parent(p) not in (driver.pid, 0)}

        assert wait_for(lambda: bool(orphans(a)) and bool(orphans(b)), 30)
        mine, theirs = set(family(a.pid)), set(family(b.pid))
        assert orphans(a) & mine and not mine & theirs
        assert {os.readlink(f"/proc/{p}/exe") for p in orphans(a)} == {str(tmp_path / "a" / "sdorphan")}
    finally:
        stop(a, b)


def _parent(pid: int) -> int:
    """The parent of an `sdorphan` (it forks nothing), 0 for any other process or a gone one."""
    try:
        if Path(f"/proc/{pid}/comm").read_text() != "sdorphan\n":
            return 0
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:
        return 0
