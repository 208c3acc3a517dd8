"""The timer-slack lever on real processes: every thread of the focused app, what its children
inherit, and all of it given back on restore and by crash recovery.

Each process reports its own slack with prctl(PR_GET_TIMERSLACK), a read independent of the
/proc/TID/timerslack_ns the actuator uses.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from smoothdesk.actuator import Actuator, LeverSet, recover
from smoothdesk.actuator import syscalls as sc
from smoothdesk.core import AppGroup, Decision, PriorityClass, ProcessRecord, Reason

pytestmark = pytest.mark.root

PROC = Path("/proc")
OURS = 1_000
OWN = 80_000  # the app's own slack before we touch it: what must come back, not the default
LEVERS = {PriorityClass.INTERACTIVE: LeverSet(slack_ns=OURS)}
# Sets its own slack, starts two threads; each stdin line: "slack" prints its own slack from
# prctl, "child" starts a child (a copy of itself) and prints its pid.
APP = f"""
import ctypes, subprocess, sys, threading, time
libc = ctypes.CDLL(None)
libc.prctl(29, {OWN}, 0, 0, 0)
for _ in range(2):
    threading.Thread(target=time.sleep, args=(600,), daemon=True).start()
print("ready", flush=True)
for line in sys.stdin:
    if line.strip() == "slack":
        print(libc.prctl(30, 0, 0, 0, 0), flush=True)
    else:
        print(subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"]).pid, flush=True)
"""


class App:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", APP], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.pid = self.proc.pid
        assert self.proc.stdout is not None and self.proc.stdout.readline() == "ready\n"
        self.children: list[int] = []

    def ask(self, what: str) -> int:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(what + "\n")
        self.proc.stdin.flush()
        return int(self.proc.stdout.readline())

    def child(self) -> int:
        pid = self.ask("child")
        self.children.append(pid)
        return pid

    def close(self) -> None:
        for pid in self.children:
            subprocess.run(["kill", "-9", str(pid)], check=False)
        self.proc.kill()
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()


@pytest.fixture
def app() -> Iterator[App]:
    a = App()
    yield a
    a.close()


def slacks(pid: int) -> set[int]:
    return {sc.read_slack(tid) for tid in sc.list_tids(pid, PROC)}


def record_of(pid: int) -> ProcessRecord:
    fields = (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    comm = (PROC / str(pid) / "comm").read_text().strip()
    return ProcessRecord(pid=pid, ppid=int(fields[1]), uid=0, comm=comm, start_time=int(fields[19]))


def focused(pid: int) -> tuple[dict[str, Decision], list[AppGroup], dict[int, ProcessRecord]]:
    klass = PriorityClass.INTERACTIVE
    decisions = {"test:app": Decision("test:app", klass, (Reason("test", klass.value),))}
    return decisions, [AppGroup("test:app", "app", "tree", 0, pid, (pid,))], {pid: record_of(pid)}


def test_read_and_set_one_threads_slack(app: App) -> None:
    assert sc.read_slack(app.pid) == OWN == app.ask("slack")
    sc.set_slack(app.pid, 5_000)
    assert app.ask("slack") == 5_000
    with pytest.raises(OSError, match="positive"):
        sc.set_slack(app.pid, 0)  # 0 would mean "the inherited default", never ours to pick


def test_the_focused_app_gets_the_slack_on_every_thread_and_restore_gives_its_own_back(
    tmp_path: Path, app: App
) -> None:
    act = Actuator(tmp_path / "run", levers=LEVERS)
    report = act.apply(*focused(app.pid))
    assert (report.changed, report.errors, report.eperm) == (1, 0, 0)
    assert slacks(app.pid) == {OURS}
    assert app.ask("slack") == OURS
    act.restore_all()
    assert slacks(app.pid) == {OWN}
    assert app.ask("slack") == OWN
    act.close()


def test_a_child_born_with_our_slack_is_given_back_the_apps_own_on_restore(tmp_path: Path, app: App) -> None:
    act = Actuator(tmp_path / "run", levers=LEVERS)
    act.apply(*focused(app.pid))
    child = app.child()  # forked after the change: the kernel copies our slack into it
    assert sc.read_slack(child) == OURS
    act.restore_all()
    assert sc.read_slack(child) == OWN
    assert slacks(app.pid) == {OWN}
    act.close()


def test_crash_recovery_gives_the_slack_back_to_the_app_and_its_children(tmp_path: Path, app: App) -> None:
    act = Actuator(tmp_path / "run", levers=LEVERS)
    act.apply(*focused(app.pid))
    child = app.child()
    act.close()  # as at a crash: nothing restored, the journal stays
    assert sc.read_slack(child) == OURS and slacks(app.pid) == {OURS}
    recover(tmp_path / "run")
    assert slacks(app.pid) == {OWN}
    assert sc.read_slack(child) == OWN


def test_a_slack_the_app_set_after_ours_is_its_own(tmp_path: Path, app: App) -> None:
    act = Actuator(tmp_path / "run", levers=LEVERS)
    act.apply(*focused(app.pid))
    sc.set_slack(app.pid, 20_000)  # as if the program had changed it itself
    act.restore_all()
    assert sc.read_slack(app.pid) == 20_000
    assert slacks(app.pid) - {20_000} == {OWN}  # its other threads still had ours: given back
    act.close()


def test_a_journal_from_before_the_slack_lever_takes_the_threads_own_slack_as_original(
    tmp_path: Path, app: App
) -> None:
    import json

    run = tmp_path / "run"
    old = Actuator(run, levers={PriorityClass.INTERACTIVE: LeverSet(slice_ns=250_000)})
    old.apply(*focused(app.pid))
    old.close()  # left behind, as by a crash
    path = run / "journal.json"
    journal = json.loads(path.read_text())
    for entry in journal["procs"]:  # what a helper from before the slack lever wrote: 4 fields
        entry["threads"] = {t: [o[:4], s[:4]] for t, (o, s) in entry["threads"].items()}
    path.write_text(json.dumps(journal))
    act = Actuator(run, levers={PriorityClass.INTERACTIVE: LeverSet(slice_ns=250_000, slack_ns=OURS)})
    report = act.apply(*focused(app.pid))
    assert report.errors == 0
    assert slacks(app.pid) == {OURS}
    act.restore_all()
    assert slacks(app.pid) == {OWN}
    act.close()
