"""The actuator against real processes: every thread, the journal, restore, autogroups, cgroups."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from smoothdesk.actuator import Actuator, CgroupV1Backend, LeverSet
from smoothdesk.actuator import syscalls as sc
from smoothdesk.actuator.syscalls import IOPRIO_CLASS_BE, IOPRIO_CLASS_IDLE, ioprio_value
from smoothdesk.core import AppGroup, Decision, PriorityClass, ProcessRecord, Reason
from smoothdesk.core.process import SCHED_BATCH, SCHED_IDLE, SCHED_OTHER

pytestmark = pytest.mark.root

PROC = Path("/proc")
CPU_MOUNT = Path("/sys/fs/cgroup/cpu")
LEVERS = {
    PriorityClass.BACKGROUND: LeverSet(
        nice=10, policy=SCHED_BATCH, ioprio=(IOPRIO_CLASS_BE, 7), autogroup_nice=10, cpu_weight=10
    ),
    PriorityClass.IDLE: LeverSet(
        nice=19, policy=SCHED_IDLE, ioprio=(IOPRIO_CLASS_IDLE, 0), autogroup_nice=19, cpu_idle=True
    ),
}
# Three spinning threads plus the main one; SIGUSR1 starts one more thread.
THREADED = """
import signal, sys, threading, time
def spin():
    while True:
        time.sleep(0.0005)
        sum(range(2000))
def more(*_):
    threading.Thread(target=spin, daemon=True).start()
signal.signal(signal.SIGUSR1, more)
for _ in range(3):
    threading.Thread(target=spin, daemon=True).start()
print("ready", flush=True)
while True:
    time.sleep(1)
"""


def record_of(pid: int) -> ProcessRecord:
    """What the collector would report, read straight from /proc."""
    fields = (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    ag = sc.read_autogroup(pid, PROC)
    return ProcessRecord(
        pid=pid,
        ppid=int(fields[1]),
        uid=(PROC / str(pid)).stat().st_uid,
        comm=(PROC / str(pid) / "comm").read_text().strip(),
        start_time=int(fields[19]),
        session=int(fields[3]),
        autogroup=ag[0] if ag else None,
        autogroup_nice=ag[1] if ag else None,
    )


def snapshot() -> dict[int, ProcessRecord]:
    out = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            try:
                out[int(entry.name)] = record_of(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
    return out


def decide(
    klass: PriorityClass, *pids: int, gid: str = "test:hogs", **kw: object
) -> tuple[dict[str, Decision], list[AppGroup]]:
    group = AppGroup(gid, "hog", "tree", 0, pids[0], tuple(pids))
    return {gid: Decision(gid, klass, (Reason("test", klass.value),), **kw)}, [group]  # type: ignore[arg-type]


def threads_state(pid: int) -> dict[int, tuple[int, int, int]]:
    """(nice, policy from /proc stat field 41, ioprio) per thread."""
    return {
        tid: (os.getpriority(os.PRIO_PROCESS, tid), sc.read_stat_policy(pid, tid, PROC), sc.get_ioprio(tid))
        for tid in sc.list_tids(pid, PROC)
    }


def cpu_cgroup(pid: int) -> str:
    for line in (PROC / str(pid) / "cgroup").read_text().splitlines():
        hid, ctrl, path = line.split(":", 2)
        if hid != "0" and "cpu" in ctrl.split(","):
            return path
    raise AssertionError("no cpu cgroup line")


@pytest.fixture(autouse=True)
def own_autogroup_untouched() -> Iterator[None]:
    """The test runner's session must never be demoted (and is put back if a bug does it)."""
    before = sc.read_autogroup(os.getpid(), PROC)
    yield
    after = sc.read_autogroup(os.getpid(), PROC)
    if before is not None and after != before:
        sc.write_autogroup_nice(os.getpid(), before[1], PROC)
    assert after == before


@pytest.fixture
def backend() -> Iterator[CgroupV1Backend]:
    if not (CPU_MOUNT / "cpu.shares").exists():
        pytest.skip("no cgroup v1 cpu hierarchy here")
    be = CgroupV1Backend(CPU_MOUNT, prefix=f"smoothdesk-test-{os.getpid()}")
    yield be
    base = CPU_MOUNT / be.prefix
    for group in base.glob("*"):
        if group.is_dir():
            for pid in (group / "cgroup.procs").read_text().split():
                with contextlib.suppress(OSError):  # already exited
                    (CPU_MOUNT / "cgroup.procs").write_text(pid)
    be.close(clean=True)
    assert not base.exists()


def start_threaded(procs: list[subprocess.Popen[bytes]], **kw: object) -> subprocess.Popen[bytes]:
    p = subprocess.Popen([sys.executable, "-c", THREADED], stdout=subprocess.PIPE, **kw)  # type: ignore[call-overload]
    procs.append(p)
    assert p.stdout is not None
    assert p.stdout.readline() == b"ready\n"
    return p


def start(procs: list[subprocess.Popen[bytes]], *argv: str, **kw: object) -> subprocess.Popen[bytes]:
    p = subprocess.Popen(list(argv), **kw)  # type: ignore[call-overload]
    procs.append(p)
    return p


def test_background_demotes_every_thread_and_restore_gives_back_exact_originals(
    tmp_path: Path, procs: list[subprocess.Popen[bytes]], backend: CgroupV1Backend
) -> None:
    hog = start_threaded(procs)
    tids = sc.list_tids(hog.pid, PROC)
    assert len(tids) >= 4
    # Unusual originals must come back exactly: nice 5 on the main thread, nice 3 on another.
    os.setpriority(os.PRIO_PROCESS, hog.pid, 5)
    os.setpriority(os.PRIO_PROCESS, tids[1], 3)
    before = threads_state(hog.pid)
    cgroup_before = cpu_cgroup(hog.pid)

    act = Actuator(tmp_path / "run", levers=LEVERS, cgroup_backend=backend)
    decisions, groups = decide(PriorityClass.BACKGROUND, hog.pid)
    report = act.apply(decisions, groups, snapshot())
    assert report.changed == 1
    assert (report.esrch, report.eperm, report.errors) == (0, 0, 0)
    assert act.journal.exists()

    after = threads_state(hog.pid)
    assert set(after) == set(before)
    for nice, policy, ioprio in after.values():
        assert nice == 10
        assert policy == SCHED_BATCH
        assert ioprio == ioprio_value(IOPRIO_CLASS_BE, 7)
    assert cpu_cgroup(hog.pid) == f"/{backend.prefix}/background"
    assert (CPU_MOUNT / backend.prefix / "background" / "cpu.shares").read_text().strip() == "102"
    # The prefix group competes at the root for its children: it must be as low as they are.
    assert (CPU_MOUNT / backend.prefix / "cpu.idle").read_text().strip() == "1"
    assert record_of(hog.pid).key in act.managed_keys()

    # Idempotent: nothing new, so no change and no journal write.
    writes = act.journal.writes
    again = act.apply(decisions, groups, snapshot())
    assert (again.changed, again.skipped) == (0, 1)
    assert act.journal.writes == writes

    restored = act.restore_all()
    assert restored.restored == 1
    assert threads_state(hog.pid) == before
    assert cpu_cgroup(hog.pid) == cgroup_before
    assert not act.journal.exists()
    assert not (CPU_MOUNT / backend.prefix).exists()
    assert act.managed_keys() == frozenset()


def test_new_threads_of_a_managed_process_are_demoted_and_restored(
    tmp_path: Path, procs: list[subprocess.Popen[bytes]]
) -> None:
    hog = start_threaded(procs)
    act = Actuator(tmp_path / "run", levers=LEVERS)
    decisions, groups = decide(PriorityClass.IDLE, hog.pid)
    act.apply(decisions, groups, snapshot())
    old = set(sc.list_tids(hog.pid, PROC))
    hog.send_signal(signal.SIGUSR1)
    deadline = time.monotonic() + 5
    while set(sc.list_tids(hog.pid, PROC)) == old and time.monotonic() < deadline:
        time.sleep(0.01)
    new = set(sc.list_tids(hog.pid, PROC)) - old
    assert new
    # A thread made by a demoted thread inherits nice and policy; the next apply completes it.
    tid = new.pop()
    sc.set_nice(tid, 12)  # the program changes its own thread: that value is its original
    report = act.apply(decisions, groups, snapshot())
    assert report.changed == 1
    assert threads_state(hog.pid)[tid] == (19, SCHED_IDLE, ioprio_value(IOPRIO_CLASS_IDLE, 0))
    act.restore_all()
    state = threads_state(hog.pid)
    assert state[tid][0] == 12
    assert all(policy == SCHED_OTHER for _, policy, _ in state.values())
    assert all(nice == 0 for t, (nice, _, _) in state.items() if t != tid)


def test_switching_class_moves_between_levers_from_the_originals(
    tmp_path: Path, procs: list[subprocess.Popen[bytes]]
) -> None:
    hog = start(procs, "sleep", "60")
    act = Actuator(tmp_path / "run", levers=LEVERS)
    rec = snapshot()
    act.apply(*decide(PriorityClass.IDLE, hog.pid), rec)
    assert threads_state(hog.pid)[hog.pid][:2] == (19, SCHED_IDLE)
    act.apply(*decide(PriorityClass.BACKGROUND, hog.pid), rec)
    assert threads_state(hog.pid)[hog.pid][:2] == (10, SCHED_BATCH)
    report = act.apply(*decide(PriorityClass.NORMAL, hog.pid), rec)
    assert report.restored == 1
    assert threads_state(hog.pid)[hog.pid][:2] == (0, SCHED_OTHER)


def test_exempt_and_unmanaged_members_are_left_alone(
    tmp_path: Path, procs: list[subprocess.Popen[bytes]]
) -> None:
    a, b = start(procs, "sleep", "60"), start(procs, "sleep", "60")
    act = Actuator(tmp_path / "run", levers=LEVERS)
    rec = snapshot()
    act.apply(*decide(PriorityClass.IDLE, a.pid, b.pid, exempt=frozenset({b.pid})), rec)
    assert os.getpriority(os.PRIO_PROCESS, a.pid) == 19
    assert os.getpriority(os.PRIO_PROCESS, b.pid) == 0
    act.apply(*decide(PriorityClass.IDLE, a.pid, b.pid, manage=False), rec)
    assert os.getpriority(os.PRIO_PROCESS, a.pid) == 0


def test_process_gone_before_apply_is_counted_not_raised(
    tmp_path: Path, procs: list[subprocess.Popen[bytes]]
) -> None:
    gone = start(procs, "sleep", "60")
    live = start(procs, "sleep", "60")
    rec = snapshot()
    assert gone.pid in rec and live.pid in rec
    gone.kill()
    gone.wait()
    act = Actuator(tmp_path / "run", levers=LEVERS)
    report = act.apply(*decide(PriorityClass.BACKGROUND, gone.pid, live.pid), rec)
    assert report.esrch == 1
    assert report.changed == 1
    assert os.getpriority(os.PRIO_PROCESS, live.pid) == 10


def test_dry_run_writes_nothing(
    tmp_path: Path, procs: list[subprocess.Popen[bytes]], backend: CgroupV1Backend
) -> None:
    hog = start_threaded(procs)
    before, cg = threads_state(hog.pid), cpu_cgroup(hog.pid)
    act = Actuator(tmp_path / "run", dry_run=True, levers=LEVERS, cgroup_backend=backend)
    report = act.apply(*decide(PriorityClass.IDLE, hog.pid), snapshot())
    assert any(str(hog.pid) in a and "nice 0 -> 19" in a for a in report.dry_run_actions)
    assert any("move" in a for a in report.dry_run_actions)
    assert threads_state(hog.pid) == before
    assert cpu_cgroup(hog.pid) == cg
    assert not (tmp_path / "run").exists()
    assert not (CPU_MOUNT / backend.prefix).exists()
    assert act.managed_keys() == frozenset()


def test_autogroup_nice_only_when_the_whole_session_is_demoted(
    tmp_path: Path, procs: list[subprocess.Popen[bytes]]
) -> None:
    alone = start(procs, "sleep", "60", start_new_session=True)
    # A session holding the hog and a process of another (undemoted) group.
    mixed = start(procs, "sh", "-c", "sleep 60 & exec sleep 61", start_new_session=True)
    try:
        time.sleep(0.2)
        world = snapshot()
        buddy = next(r.pid for r in world.values() if r.session == mixed.pid and r.pid != mixed.pid)
        ag_alone = sc.read_autogroup(alone.pid, PROC)
        ag_mixed = sc.read_autogroup(mixed.pid, PROC)
        assert ag_alone is not None and ag_mixed is not None and ag_alone[0] != ag_mixed[0]

        act = Actuator(tmp_path / "run", levers=LEVERS)
        decisions, groups = decide(PriorityClass.BACKGROUND, alone.pid, mixed.pid)
        other = AppGroup("test:buddy", "sleep", "tree", 0, buddy, (buddy,))
        decisions[other.id] = Decision(other.id, PriorityClass.NORMAL, ())
        act.apply(decisions, [*groups, other], world)
        assert sc.read_autogroup(alone.pid, PROC) == (ag_alone[0], 10)
        assert sc.read_autogroup(mixed.pid, PROC) == ag_mixed  # untouched: the buddy is normal

        act.restore_all()
        assert sc.read_autogroup(alone.pid, PROC) == ag_alone
    finally:
        os.killpg(mixed.pid, signal.SIGKILL)  # the buddy too: it is not in `procs`


def test_pid_reuse_is_never_touched(tmp_path: Path, procs: list[subprocess.Popen[bytes]]) -> None:
    from smoothdesk.actuator.journal import Journal, JournalData, ProcEntry, ThreadRecord
    from smoothdesk.core import ProcKey

    victim = start(procs, "sleep", "60")
    os.setpriority(os.PRIO_PROCESS, victim.pid, 7)
    real = record_of(victim.pid)
    stale = ProcKey(victim.pid, real.start_time - 1)  # the pid's previous owner
    data = JournalData()
    ours = sc.ThreadState(7, SCHED_OTHER, sc.get_ioprio(victim.pid))
    data.procs[stale] = ProcEntry(stale, 0, "idle", {victim.pid: ThreadRecord(ours._replace(nice=0), ours)})
    Journal(tmp_path / "run").save(data)

    act = Actuator(tmp_path / "run", levers=LEVERS)
    report = act.recover()
    assert report.esrch == 1
    assert report.restored == 0
    assert os.getpriority(os.PRIO_PROCESS, victim.pid) == 7
    assert not act.journal.exists()


def test_apply_one_fast_path_for_a_new_member(
    tmp_path: Path, procs: list[subprocess.Popen[bytes]], backend: CgroupV1Backend
) -> None:
    first = start(procs, "sleep", "60")
    act = Actuator(tmp_path / "run", levers=LEVERS, cgroup_backend=backend)
    decisions, groups = decide(PriorityClass.IDLE, first.pid)
    act.apply(decisions, groups, snapshot())
    newcomer = start(procs, "sleep", "61")
    group = AppGroup("test:hogs", "hog", "tree", 0, first.pid, (first.pid, newcomer.pid))
    t0 = time.perf_counter()
    report = act.apply_one(record_of(newcomer.pid), decisions["test:hogs"], group)
    elapsed = time.perf_counter() - t0
    assert report.changed == 1
    assert threads_state(newcomer.pid)[newcomer.pid] == (19, SCHED_IDLE, ioprio_value(IOPRIO_CLASS_IDLE, 0))
    assert cpu_cgroup(newcomer.pid) == f"/{backend.prefix}/idle"
    assert elapsed < 0.05, f"apply_one took {elapsed * 1000:.1f} ms"
    assert record_of(newcomer.pid).key in act.managed_keys()
    # Not a member of the group it claims: nothing happens.
    stranger = start(procs, "sleep", "62")
    assert act.apply_one(record_of(stranger.pid), decisions["test:hogs"], group).changed == 0
    assert os.getpriority(os.PRIO_PROCESS, stranger.pid) == 0
    act.restore_all()
    assert threads_state(newcomer.pid)[newcomer.pid][:2] == (0, SCHED_OTHER)


def test_realtime_process_is_never_touched(tmp_path: Path, procs: list[subprocess.Popen[bytes]]) -> None:
    rt = start(procs, "sleep", "60")
    os.sched_setscheduler(rt.pid, os.SCHED_FIFO, os.sched_param(10))
    act = Actuator(tmp_path / "run", levers=LEVERS)
    report = act.apply(*decide(PriorityClass.IDLE, rt.pid), snapshot_with_policy())
    assert report.changed == 0
    assert os.sched_getscheduler(rt.pid) == os.SCHED_FIFO
    assert os.getpriority(os.PRIO_PROCESS, rt.pid) == 0


def snapshot_with_policy() -> dict[int, ProcessRecord]:
    world = snapshot()
    for rec in world.values():
        try:
            rec.policy = os.sched_getscheduler(rec.pid)
        except OSError:
            continue
    return world


def test_default_table_demotes_and_restores_a_real_process(
    tmp_path: Path, procs: list[subprocess.Popen[bytes]], backend: CgroupV1Backend
) -> None:
    from smoothdesk.actuator import DEFAULT_LEVERS

    hog = start_threaded(procs)
    before, cg = threads_state(hog.pid), cpu_cgroup(hog.pid)
    act = Actuator(tmp_path / "run", cgroup_backend=backend)
    assert act.levers == dict(DEFAULT_LEVERS)
    act.apply(*decide(PriorityClass.IDLE, hog.pid), snapshot())
    for nice, policy, ioprio in threads_state(hog.pid).values():
        assert (nice, policy, ioprio) == (19, SCHED_IDLE, ioprio_value(IOPRIO_CLASS_IDLE, 0))
    assert cpu_cgroup(hog.pid) == f"/{backend.prefix}/idle"
    assert (CPU_MOUNT / backend.prefix / "idle" / "cpu.idle").read_text().strip() == "1"
    assert (CPU_MOUNT / backend.prefix / "cpu.idle").read_text().strip() == "1"
    act.apply(*decide(PriorityClass.BACKGROUND, hog.pid), snapshot())
    for nice, policy, ioprio in threads_state(hog.pid).values():
        assert (nice, policy, ioprio) == (19, SCHED_OTHER, ioprio_value(IOPRIO_CLASS_BE, 7))
    assert cpu_cgroup(hog.pid) == f"/{backend.prefix}/background"
    # A weighted child under an idle parent would be idle after all: the parent follows.
    assert (CPU_MOUNT / backend.prefix / "cpu.idle").read_text().strip() == "1"
    # NORMAL pulls nothing (INTERACTIVE would set its slice, see test_actuator_slices).
    act.apply(*decide(PriorityClass.NORMAL, hog.pid), snapshot())
    assert threads_state(hog.pid) == before
    assert cpu_cgroup(hog.pid) == cg
    act.close()
    assert not act.journal.exists()
