"""Memory levers on real processes: oom_score_adj set and given back (stop and crash), the
CAP_SYS_RESOURCE fallback, and the opt-in kill that never hits a reused pid."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from smoothdesk.actuator import Actuator, recover
from smoothdesk.core import ProcessRecord, ProcKey
from smoothdesk.policy.memory import ExposeOrder, KillOrder, MemoryPlan, ProtectOrder
from tests.support.procs import wait_for
from tests.support.users import REPO

pytestmark = pytest.mark.root
CAP_SYS_RESOURCE = 24


def has_cap_sys_resource() -> bool:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("CapEff:"):
            return bool(int(line.split()[1], 16) >> CAP_SYS_RESOURCE & 1)
    return False


def record(pid: int) -> ProcessRecord:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return ProcessRecord(
        pid=pid, ppid=int(fields[1]), uid=os.getuid(), comm="sleep", start_time=int(fields[19])
    )


def adj(pid: int) -> int:
    return int(Path(f"/proc/{pid}/oom_score_adj").read_text())


def set_adj(pid: int, value: int) -> None:
    Path(f"/proc/{pid}/oom_score_adj").write_text(str(value))


def sleeper(procs: list[subprocess.Popen[bytes]]) -> ProcessRecord:
    p = subprocess.Popen(["sleep", "120"])
    procs.append(p)
    return record(p.pid)


def plan(
    protect: list[ProcessRecord],
    value: int,
    expose: list[ProcessRecord] = (),  # type: ignore[assignment]
    kill: KillOrder | None = None,
    active: bool = True,
) -> MemoryPlan:
    return MemoryPlan(
        active,
        30.0,
        5.0,
        (ProtectOrder("g:fg", "fg", tuple(r.key for r in protect), value),) if protect else (),
        (ExposeOrder("g:bg", "bg", tuple(r.key for r in expose), -value, 1),) if expose else (),
        None,
        kill,
    )


def test_lowered_then_restored_by_restore_all(tmp_path: Path, procs: list[subprocess.Popen[bytes]]) -> None:
    fg = sleeper(procs)
    set_adj(fg.pid, 400)  # from 400 down to 100 stays above the floor: allowed without privilege
    act = Actuator(tmp_path / "run")
    report = act.apply_memory(plan([fg], 100), {fg.pid: fg})
    assert adj(fg.pid) == 100
    assert report.lever == "oom_score_adj" and report.lowered == [fg.key]
    journal = json.loads(act.journal.path.read_text())
    assert journal["oom"] == [
        {"key": {"pid": fg.pid, "start": fg.start_time}, "orig": 400, "set": 100, "role": "protect"}
    ]
    # the same plan again writes nothing
    writes = act.journal.writes
    assert act.apply_memory(plan([fg], 100), {fg.pid: fg}).counts.skipped == 1
    assert act.journal.writes == writes
    report = act.restore_all()
    assert adj(fg.pid) == 400 and report.restored == 1 and not act.journal.exists()


def test_already_more_protected_is_left_alone(tmp_path: Path, procs: list[subprocess.Popen[bytes]]) -> None:
    fg = sleeper(procs)
    set_adj(fg.pid, 50)
    act = Actuator(tmp_path / "run")
    report = act.apply_memory(plan([fg], 100), {fg.pid: fg})
    assert adj(fg.pid) == 50 and report.lever == "none" and not act.journal.exists()


def test_focus_moves_and_pressure_ends_give_back(
    tmp_path: Path, procs: list[subprocess.Popen[bytes]]
) -> None:
    a, b = sleeper(procs), sleeper(procs)
    set_adj(a.pid, 300)
    set_adj(b.pid, 300)
    table = {a.pid: a, b.pid: b}
    act = Actuator(tmp_path / "run")
    act.apply_memory(plan([a], 0), table)
    assert (adj(a.pid), adj(b.pid)) == (0, 300)
    act.apply_memory(plan([b], 0), table)
    assert (adj(a.pid), adj(b.pid)) == (300, 0)
    act.apply_memory(plan([b], 0, active=False), table)
    assert (adj(a.pid), adj(b.pid)) == (300, 300) and not act.journal.exists()


def test_lowering_below_the_floor_falls_back_to_raising_background(
    tmp_path: Path, procs: list[subprocess.Popen[bytes]]
) -> None:
    fg, bg = sleeper(procs), sleeper(procs)
    table = {fg.pid: fg, bg.pid: bg}
    act = Actuator(tmp_path / "run")
    report = act.apply_memory(plan([fg], -500, [bg]), table)
    if has_cap_sys_resource():
        assert report.lever == "oom_score_adj" and (adj(fg.pid), adj(bg.pid)) == (-500, 0)
    else:
        # this machine's root lacks CAP_SYS_RESOURCE: the kernel refuses, the background goes up
        assert report.lever == "raise-background" and report.lowered == [] and report.raised == [bg.key]
        assert (adj(fg.pid), adj(bg.pid)) == (0, 500)
        assert any("CAP_SYS_RESOURCE" in n for n in report.notes)
        # next tick: no retry storm, the fallback is kept as it is
        again = act.apply_memory(plan([fg], -500, [bg]), table)
        assert again.lever == "raise-background" and again.raised == [] and again.counts.eperm == 0
        # a protected process that started above 0 is still brought down to 0, the usual floor
        set_adj(fg.pid, 300)
        third = act.apply_memory(plan([fg], -500, [bg]), table)
        assert adj(fg.pid) == 0 and third.lowered == [fg.key]
        assert third.lever == "oom_score_adj+raise-background"
    act.restore_all()
    assert adj(bg.pid) == 0
    assert adj(fg.pid) == (0 if has_cap_sys_resource() else 300)  # each back to what we found


DRIVER = """
import json, sys
from pathlib import Path
from smoothdesk.actuator import Actuator
from smoothdesk.core import ProcessRecord, ProcKey
from smoothdesk.policy.memory import MemoryPlan, ProtectOrder, ExposeOrder
args = json.loads(sys.argv[1])
fg, bg = (ProcessRecord(pid=k[0], ppid=1, uid=0, comm="sleep", start_time=k[1]) for k in args["keys"])
plan = MemoryPlan(True, 30.0, 0.0, (ProtectOrder("fg", "fg", (fg.key,), args["value"]),),
                  (ExposeOrder("bg", "bg", (bg.key,), 700, 1),))
rep = Actuator(Path(args["run_dir"])).apply_memory(plan, {fg.pid: fg, bg.pid: bg})
print(json.dumps({"lever": rep.lever}), flush=True)
sys.stdin.readline()
"""


def test_crash_recovery_restores_oom_score_adj(tmp_path: Path, procs: list[subprocess.Popen[bytes]]) -> None:
    fg, bg = sleeper(procs), sleeper(procs)
    set_adj(fg.pid, 600)
    run_dir = tmp_path / "run"
    args = {
        "keys": [[fg.pid, fg.start_time], [bg.pid, bg.start_time]],
        "value": -300,
        "run_dir": str(run_dir),
    }
    child = subprocess.Popen(
        [sys.executable, "-c", DRIVER, json.dumps(args)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=REPO,
    )
    procs.append(child)
    assert child.stdout is not None
    line = json.loads(child.stdout.readline())
    changed = (adj(fg.pid), adj(bg.pid))
    if has_cap_sys_resource():
        assert line["lever"] == "oom_score_adj" and changed == (-300, 0)
    else:
        assert line["lever"] == "raise-background" and changed == (600, 700)
    child.kill()  # SIGKILL: only the journal is left
    child.wait()
    assert (run_dir / "journal.json").exists()
    report = recover(run_dir)
    assert (adj(fg.pid), adj(bg.pid)) == (600, 0)
    assert report.restored == 1 and not (run_dir / "journal.json").exists()


def kill_order(*keys: ProcKey) -> KillOrder:
    return KillOrder("g:bg", "bg", 1, keys, "test")


def test_kill_only_when_allowed(tmp_path: Path, procs: list[subprocess.Popen[bytes]]) -> None:
    victim = sleeper(procs)
    act = Actuator(tmp_path / "run")
    report = act.apply_memory(plan([], 0, kill=kill_order(victim.key)), {victim.pid: victim})
    assert report.killed == [] and procs[-1].poll() is None and "not enabled" in report.notes[0]
    report = act.apply_memory(plan([], 0, kill=kill_order(victim.key)), {victim.pid: victim}, allow_kill=True)
    assert report.killed == [victim.key]
    assert wait_for(lambda: procs[-1].poll() is not None, timeout=10)
    assert procs[-1].returncode == -9


def test_kill_never_hits_a_process_whose_start_time_changed(
    tmp_path: Path, procs: list[subprocess.Popen[bytes]]
) -> None:
    victim = sleeper(procs)
    stale = ProcKey(victim.pid, victim.start_time - 1)  # the key of an earlier owner of this pid
    act = Actuator(tmp_path / "run")
    # the record agrees with the stale key (as a stale snapshot would): the pidfd check still refuses
    rec = ProcessRecord(pid=victim.pid, ppid=1, uid=os.getuid(), comm="old", start_time=stale.start_time)
    report = act.apply_memory(plan([], 0, kill=kill_order(stale)), {victim.pid: rec}, allow_kill=True)
    assert report.killed == [] and report.counts.esrch == 1
    assert procs[-1].poll() is None


def test_kill_skips_own_process_and_pid_1(tmp_path: Path) -> None:
    me, init = record(os.getpid()), record(1)
    act = Actuator(tmp_path / "run")
    report = act.apply_memory(
        plan([], 0, kill=kill_order(me.key, init.key)), {me.pid: me, 1: init}, allow_kill=True
    )
    assert report.killed == [] and report.counts.skipped == 2
