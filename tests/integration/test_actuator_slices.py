"""EEVDF custom slices on real processes: the syscalls, the focused class's lever, restore and recovery.

Every slice is checked in /proc/PID/task/TID/sched (se.slice), a read independent of the
sched_getattr the code uses.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from smoothdesk.actuator import Actuator, LeverSet, recover
from smoothdesk.actuator import slices as sl
from smoothdesk.actuator import syscalls as sc
from smoothdesk.core import AppGroup, Decision, PriorityClass, ProcessRecord, Reason
from smoothdesk.core.process import SCHED_FIFO, SCHED_OTHER
from tests.support.users import REPO

pytestmark = pytest.mark.root

PROC = Path("/proc")
OURS = 250_000
LEVERS = {
    PriorityClass.INTERACTIVE: LeverSet(slice_ns=OURS),
    PriorityClass.BACKGROUND: LeverSet(nice=19),
}
# Two sleeping threads plus the main one; SIGUSR1 starts one more, SIGUSR2 a child process.
THREADED = """
import signal, subprocess, threading, time
def more(*_):
    threading.Thread(target=time.sleep, args=(600,), daemon=True).start()
def child(*_):
    print(subprocess.Popen(["sleep", "600"]).pid, flush=True)
signal.signal(signal.SIGUSR1, more)
signal.signal(signal.SIGUSR2, child)
more(); more()
print("ready", flush=True)
while True:
    time.sleep(1)
"""


def se_slice(tid: int) -> int:
    for line in (PROC / str(tid) / "sched").read_text().splitlines():
        if line.startswith("se.slice"):
            return int(line.split(":")[1])
    raise AssertionError(f"no se.slice in /proc/{tid}/sched")


def slices_of(pid: int) -> dict[int, int]:
    return {tid: se_slice(tid) for tid in sc.list_tids(pid, PROC)}


def base() -> int:
    return sl.base_slice_ns()


def record_of(pid: int) -> ProcessRecord:
    fields = (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    return ProcessRecord(
        pid=pid,
        ppid=int(fields[1]),
        uid=0,
        comm=(PROC / str(pid) / "comm").read_text().strip(),
        start_time=int(fields[19]),
        session=int(fields[3]),
    )


def decide(
    klass: PriorityClass, pid: int, load: int | None = -1
) -> tuple[dict[str, Decision], list[AppGroup], dict[int, ProcessRecord]]:
    """The app's decision, next to a demoted load (the slice is only used next to one)."""
    load = LOAD[0] if load == -1 else load
    groups = [AppGroup("test:app", "app", "tree", 0, pid, (pid,))]
    decisions = {"test:app": Decision("test:app", klass, (Reason("test", klass.value),))}
    if load is not None:
        groups.append(AppGroup("test:load", "cc1plus", "tree", 0, load, (load,)))
        bg = PriorityClass.BACKGROUND
        decisions["test:load"] = Decision("test:load", bg, (Reason("test", bg.value),))
    return decisions, groups, {g.leader: record_of(g.leader) for g in groups}


LOAD: list[int] = []


@pytest.fixture(autouse=True)
def load() -> Iterator[int]:
    """A process that stands for the demoted load."""
    p = subprocess.Popen(["sleep", "600"])
    LOAD[:] = [p.pid]
    yield p.pid
    p.kill()
    p.wait()


def start_threaded(procs: list[subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
    p = subprocess.Popen([sys.executable, "-c", THREADED], stdout=subprocess.PIPE)
    procs.append(p)
    assert p.stdout is not None
    assert p.stdout.readline() == b"ready\n"
    return p


def more_thread(p: subprocess.Popen[bytes]) -> int:
    old = set(sc.list_tids(p.pid, PROC))
    p.send_signal(signal.SIGUSR1)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        new = set(sc.list_tids(p.pid, PROC)) - old
        if new:
            return new.pop()
        time.sleep(0.01)
    raise AssertionError("no new thread")


def test_kernel_honours_custom_slices_as_probed() -> None:
    release = tuple(int(x) for x in os.uname().release.split(".")[:2])
    support = sl.probe_support()
    assert support.honoured == (release >= (6, 12))
    if support.honoured:
        # The kernel's base slice: 0.7 ms (0.75 before 6.15) x (1 + log2 CPUs, at most 8 CPUs).
        factor = 1 + min(os.cpu_count() or 1, 8).bit_length() - 1
        assert support.base_ns in (700_000 * factor, 750_000 * factor)
        assert "read back as set" in support.detail


def test_probing_leaves_the_probing_thread_as_it_was() -> None:
    me = threading.get_native_id()
    before = se_slice(me)
    assert sl.probe_support().honoured
    assert se_slice(me) == before
    sl.set_slice(me, 600_000)  # a custom slice of its own is put back too
    try:
        assert sl.probe_support().honoured
        assert se_slice(me) == 600_000
    finally:
        sl.set_slice(me, 0)
    assert se_slice(me) == base()


def test_set_read_and_clear_a_slice_on_a_real_process(procs: list[subprocess.Popen[bytes]]) -> None:
    p = subprocess.Popen(["sleep", "60"])
    procs.append(p)
    assert se_slice(p.pid) == base()
    assert sl.read_slice(p.pid) == 0
    os.setpriority(os.PRIO_PROCESS, p.pid, 3)
    sl.set_slice(p.pid, 300_000)
    assert se_slice(p.pid) == 300_000
    assert sl.read_slice(p.pid) == 300_000
    assert os.getpriority(os.PRIO_PROCESS, p.pid) == 3  # nice is passed back, not reset
    assert os.sched_getscheduler(p.pid) == SCHED_OTHER
    sl.set_slice(p.pid, 0)
    assert se_slice(p.pid) == base()
    assert sl.read_slice(p.pid) == 0


def test_bad_slices_and_realtime_threads_are_refused(procs: list[subprocess.Popen[bytes]]) -> None:
    p = subprocess.Popen(["sleep", "60"])
    procs.append(p)
    for bad in (50_000, 200_000_000):
        with pytest.raises(OSError, match="outside") as exc:
            sl.set_slice(p.pid, bad)
        assert exc.value.errno == errno.EINVAL
    os.sched_setscheduler(p.pid, SCHED_FIFO, os.sched_param(1))
    with pytest.raises(OSError, match="policy 1") as exc:
        sl.set_slice(p.pid, OURS)
    assert exc.value.errno == errno.EINVAL
    assert os.sched_getscheduler(p.pid) == SCHED_FIFO
    p.kill()
    p.wait()
    with pytest.raises(ProcessLookupError):
        sl.read_slice(p.pid)


def test_interactive_gets_the_slice_on_every_thread_and_restore_clears_it(
    tmp_path: Path, procs: list[subprocess.Popen[bytes]]
) -> None:
    app = start_threaded(procs)
    nice_before = os.getpriority(os.PRIO_PROCESS, app.pid)
    act = Actuator(tmp_path / "run", levers=LEVERS)
    report = act.apply(*decide(PriorityClass.INTERACTIVE, app.pid))
    assert (report.changed, report.errors, report.eperm) == (2, 0, 0)  # the app and the load
    assert set(slices_of(app.pid).values()) == {OURS}
    assert os.getpriority(os.PRIO_PROCESS, app.pid) == nice_before  # the slice is all it pulls
    journal = json.loads((tmp_path / "run" / "journal.json").read_text())
    threads = journal["procs"][0]["threads"]
    assert {tuple(o)[3] for o, _ in threads.values()} == {0}
    assert {tuple(s)[3] for _, s in threads.values()} == {OURS}

    # Reset-on-fork: neither a new thread nor a child process inherits our slice.
    assert {os.sched_getscheduler(t) for t in slices_of(app.pid)} == {SCHED_OTHER | sc.SCHED_RESET_ON_FORK}
    born = more_thread(app)
    assert se_slice(born) == base()
    assert os.sched_getscheduler(born) == SCHED_OTHER
    app.send_signal(signal.SIGUSR2)
    assert app.stdout is not None
    child = int(app.stdout.readline())
    try:
        assert se_slice(child) == base()
        assert os.sched_getscheduler(child) == SCHED_OTHER
    finally:
        os.kill(child, signal.SIGKILL)
    act.apply(*decide(PriorityClass.INTERACTIVE, app.pid))  # the new thread gets it like the others
    assert se_slice(born) == OURS

    assert act.restore_all().restored == 2
    assert set(slices_of(app.pid).values()) == {base()}
    assert {os.sched_getscheduler(t) for t in slices_of(app.pid)} == {SCHED_OTHER}
    assert not act.journal.exists()


def test_the_fast_path_gives_a_new_focused_process_its_slice(
    tmp_path: Path, procs: list[subprocess.Popen[bytes]]
) -> None:
    app = start_threaded(procs)
    act = Actuator(tmp_path / "run", levers=LEVERS)
    act.apply(*decide(PriorityClass.NORMAL, app.pid))  # the load is demoted already
    decisions, groups, records = decide(PriorityClass.INTERACTIVE, app.pid)
    report = act.apply_one(records[app.pid], decisions["test:app"], groups[0])
    assert report.changed == 1
    assert set(slices_of(app.pid).values()) == {OURS}
    act.restore_all()
    assert set(slices_of(app.pid).values()) == {base()}


def test_the_slice_does_not_wait_for_demoted_load(
    tmp_path: Path, procs: list[subprocess.Popen[bytes]]
) -> None:
    # bench_levers --slices: 250 us helped the probe's wake-up next to undemoted hogs too, and
    # its completion p99 stayed within 0.9x the base slice's.
    app = start_threaded(procs)
    act = Actuator(tmp_path / "run", levers=LEVERS)
    assert act.apply(*decide(PriorityClass.INTERACTIVE, app.pid, load=None)).changed == 1
    assert set(slices_of(app.pid).values()) == {OURS}
    act.apply(*decide(PriorityClass.NORMAL, app.pid, load=None))
    assert set(slices_of(app.pid).values()) == {base()}
    act.close()
    assert not act.journal.exists()


def test_a_class_change_to_background_clears_the_slice_and_demotes(
    tmp_path: Path, procs: list[subprocess.Popen[bytes]]
) -> None:
    app = start_threaded(procs)
    act = Actuator(tmp_path / "run", levers=LEVERS)
    act.apply(*decide(PriorityClass.INTERACTIVE, app.pid))
    assert set(slices_of(app.pid).values()) == {OURS}
    act.apply(*decide(PriorityClass.BACKGROUND, app.pid))
    assert set(slices_of(app.pid).values()) == {base()}
    assert {os.getpriority(os.PRIO_PROCESS, t) for t in sc.list_tids(app.pid, PROC)} == {19}
    act.apply(*decide(PriorityClass.NORMAL, app.pid))  # not managed any more: everything back
    assert set(slices_of(app.pid).values()) == {base()}
    assert {os.getpriority(os.PRIO_PROCESS, t) for t in sc.list_tids(app.pid, PROC)} == {0}


def test_a_slice_the_user_set_is_left_alone(tmp_path: Path, procs: list[subprocess.Popen[bytes]]) -> None:
    app = start_threaded(procs)
    tids = sc.list_tids(app.pid, PROC)
    sl.set_slice(tids[1], 2_000_000)  # the user's choice on one thread, say with chrt-like tooling
    act = Actuator(tmp_path / "run", levers=LEVERS)
    act.apply(*decide(PriorityClass.INTERACTIVE, app.pid))
    after = slices_of(app.pid)
    assert after[tids[1]] == 2_000_000
    assert {s for t, s in after.items() if t != tids[1]} == {OURS}
    act.restore_all()
    assert slices_of(app.pid) == {t: 2_000_000 if t == tids[1] else base() for t in tids}


def test_a_realtime_thread_is_never_given_a_slice(
    tmp_path: Path, procs: list[subprocess.Popen[bytes]]
) -> None:
    p = subprocess.Popen(["sleep", "60"])
    procs.append(p)
    # The record still says SCHED_OTHER (it went realtime after the tick): the thread-level check holds.
    decisions, groups, records = decide(PriorityClass.INTERACTIVE, p.pid)
    os.sched_setscheduler(p.pid, SCHED_FIFO, os.sched_param(1))
    act = Actuator(tmp_path / "run", levers=LEVERS)
    assert act.apply(decisions, groups, records).changed == 1  # the load only
    assert sl.get_attr(p.pid).sched_runtime == 0  # no fair slice on an RT task
    os.sched_setscheduler(p.pid, SCHED_OTHER, os.sched_param(0))
    assert se_slice(p.pid) == base()  # and none waiting for it once it leaves RT
    act.restore_all()
    assert se_slice(p.pid) == base()


# In a child: apply the interactive class with our table, report, then wait to be killed.
DRIVER = """
import json, sys
from pathlib import Path
from smoothdesk.actuator import Actuator, LeverSet
from smoothdesk.core import AppGroup, Decision, PriorityClass, ProcessRecord, Reason
pid, start, load, load_start, run_dir = *map(int, sys.argv[1:5]), sys.argv[5]
levers = {PriorityClass.INTERACTIVE: LeverSet(slice_ns=250_000), PriorityClass.BACKGROUND: LeverSet(nice=19)}
act = Actuator(Path(run_dir), levers=levers)
groups = [AppGroup("t:g", "g", "tree", 0, pid, (pid,)), AppGroup("t:l", "l", "tree", 0, load, (load,))]
recs = {pid: ProcessRecord(pid=pid, ppid=1, uid=0, comm="x", start_time=start),
        load: ProcessRecord(pid=load, ppid=1, uid=0, comm="cc1plus", start_time=load_start)}
decisions = {"t:g": Decision("t:g", PriorityClass.INTERACTIVE, (Reason("t", "x"),)),
             "t:l": Decision("t:l", PriorityClass.BACKGROUND, (Reason("t", "x"),))}
rep = act.apply(decisions, groups, recs)
print(json.dumps({"changed": rep.changed}), flush=True)
sys.stdin.readline()
"""


def test_recover_after_sigkill_clears_the_slices_it_set(
    tmp_path: Path, procs: list[subprocess.Popen[bytes]], load: int
) -> None:
    app = start_threaded(procs)
    run_dir = tmp_path / "run"
    start = sc.read_start_time(app.pid, PROC)
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            DRIVER,
            str(app.pid),
            str(start),
            str(load),
            str(sc.read_start_time(load, PROC)),
            str(run_dir),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=REPO,
    )
    procs.append(child)
    assert child.stdout is not None
    assert json.loads(child.stdout.readline()) == {"changed": 2}
    assert set(slices_of(app.pid).values()) == {OURS}
    child.kill()  # SIGKILL: only the journal is left
    child.wait()
    born = more_thread(app)  # born after the crash, from a sliced thread
    assert se_slice(born) == base()

    report = recover(run_dir)
    assert report.restored == 2
    assert os.getpriority(os.PRIO_PROCESS, load) == 0
    assert set(slices_of(app.pid).values()) == {base()}
    assert {os.sched_getscheduler(t) for t in slices_of(app.pid)} == {SCHED_OTHER}
    assert not (run_dir / "journal.json").exists()
