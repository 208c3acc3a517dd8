"""Crash recovery (SIGKILLed actuator), and user mode as uid nobody, with the kernel facts behind it."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from smoothdesk.actuator import Actuator, CgroupV1Backend
from smoothdesk.actuator import syscalls as sc
from smoothdesk.actuator.syscalls import IOPRIO_CLASS_BE, ioprio_value
from smoothdesk.core.process import SCHED_BATCH, SCHED_IDLE
from tests.support.users import NOBODY, REPO, drop_to_nobody, unprivileged_python

pytestmark = pytest.mark.root

PROC = Path("/proc")
CPU_MOUNT = Path("/sys/fs/cgroup/cpu")

# Run inside the child: build records from /proc, apply one decision, report, wait for a line.
DRIVER = """
import json, os, sys
from pathlib import Path
from smoothdesk.actuator import Actuator, CgroupV1Backend, LeverSet
from smoothdesk.actuator import syscalls as sc
from smoothdesk.core import AppGroup, Decision, PriorityClass, ProcessRecord, Reason

args = json.loads(sys.argv[1])
def record(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ag = sc.read_autogroup(pid, Path("/proc"))
    return ProcessRecord(pid=pid, ppid=int(fields[1]), uid=Path(f"/proc/{pid}").stat().st_uid,
                         comm="x", start_time=int(fields[19]), session=int(fields[3]),
                         autogroup=ag[0] if ag else None, autogroup_nice=ag[1] if ag else None)
klass = PriorityClass(args["klass"])
levers = {klass: LeverSet(**{k: tuple(v) if k == "ioprio" else v for k, v in args["levers"].items()})}
backend = CgroupV1Backend(Path(args["mount"]), prefix=args["prefix"]) if args.get("prefix") else None
act = Actuator(Path(args["run_dir"]), user_uid=args.get("user_uid"), levers=levers,
               cgroup_backend=backend)
pids = args["pids"]
group = AppGroup("t:g", "g", "tree", 0, pids[0], tuple(pids))
procs = {p: record(p) for p in pids}
rep = act.apply({"t:g": Decision("t:g", klass, (Reason("test", "x"),))}, [group], procs)
print(json.dumps({"changed": rep.changed, "eperm": rep.eperm, "esrch": rep.esrch}), flush=True)
sys.stdin.readline()
rep = act.restore_all()
print(json.dumps({"restored": rep.restored, "irreversible": rep.irreversible,
                  "notes": rep.notes}), flush=True)
sys.stdin.readline()
"""


def state(pid: int) -> tuple[int, int, int]:
    return os.getpriority(os.PRIO_PROCESS, pid), sc.read_stat_policy(pid, pid, PROC), sc.get_ioprio(pid)


def cpu_cgroup(pid: int) -> str:
    for line in (PROC / str(pid) / "cgroup").read_text().splitlines():
        hid, ctrl, path = line.split(":", 2)
        if hid != "0" and "cpu" in ctrl.split(","):
            return path
    raise AssertionError("no cpu cgroup")


def driver(
    procs: list[subprocess.Popen[bytes]], args: dict[str, object], *, as_nobody: bool = False
) -> tuple[subprocess.Popen[bytes], dict[str, int]]:
    if as_nobody:
        exe, env = unprivileged_python()
        kw: dict[str, object] = {"user": NOBODY, "group": NOBODY, "extra_groups": [], "env": env, "cwd": "/"}
    else:
        exe, kw = sys.executable, {"cwd": str(REPO)}
    p = subprocess.Popen(
        [exe, "-c", DRIVER, json.dumps(args)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        **kw,  # type: ignore[arg-type]
    )
    procs.append(p)
    assert p.stdout is not None
    line = p.stdout.readline()
    assert line, "driver died before applying"
    return p, json.loads(line)


def test_recover_after_sigkill_restores_originals(
    tmp_path: Path, procs: list[subprocess.Popen[bytes]]
) -> None:
    if not (CPU_MOUNT / "cpu.shares").exists():
        pytest.skip("no cgroup v1 cpu hierarchy here")
    prefix = f"smoothdesk-test-{os.getpid()}"
    target = subprocess.Popen(["sleep", "60"])
    procs.append(target)
    os.setpriority(os.PRIO_PROCESS, target.pid, 4)
    before, cg_before = state(target.pid), cpu_cgroup(target.pid)
    run_dir = tmp_path / "run"
    args = {
        "klass": "idle",
        "levers": {"nice": 19, "policy": SCHED_IDLE, "ioprio": [IOPRIO_CLASS_BE, 7], "cpu_idle": True},
        "run_dir": str(run_dir),
        "pids": [target.pid],
        "mount": str(CPU_MOUNT),
        "prefix": prefix,
    }
    try:
        child, report = driver(procs, args)
        assert report["changed"] == 1
        assert state(target.pid) == (19, SCHED_IDLE, ioprio_value(IOPRIO_CLASS_BE, 7))
        assert cpu_cgroup(target.pid) == f"/{prefix}/idle"
        child.kill()  # SIGKILL: no restore, the journal is all that is left
        child.wait()
        assert (run_dir / "journal.json").exists()

        backend = CgroupV1Backend(CPU_MOUNT, prefix=prefix)
        act = Actuator(run_dir, cgroup_backend=backend)
        assert target.pid in {k.pid for k in act.managed_keys()}
        rec = act.recover()
        assert rec.restored == 1
        assert state(target.pid) == before
        assert cpu_cgroup(target.pid) == cg_before
        assert not (run_dir / "journal.json").exists()
        assert not (CPU_MOUNT / prefix).exists()
        assert act.recover().restored == 0  # nothing left: a second recover is a no-op
    finally:
        if (CPU_MOUNT / prefix / "idle").exists():
            (CPU_MOUNT / "cgroup.procs").write_text(str(target.pid))
        CgroupV1Backend(CPU_MOUNT, prefix=prefix).close(clean=True)


@pytest.fixture
def nobody_dir() -> Iterator[Path]:
    """A directory nobody owns and can reach (pytest's tmp_path sits under a 0700 root dir)."""
    path = Path(tempfile.mkdtemp(prefix="sd-actuator-"))
    path.chmod(0o755)
    os.chown(path, NOBODY, NOBODY)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_user_mode_demotes_own_processes_only_and_journals_what_it_cannot_undo(
    nobody_dir: Path, procs: list[subprocess.Popen[bytes]]
) -> None:
    mine = subprocess.Popen(["sleep", "60"], user=NOBODY, group=NOBODY, extra_groups=[])
    roots = subprocess.Popen(["sleep", "60"])
    procs += [mine, roots]
    time.sleep(0.05)
    mine_before, root_before = state(mine.pid), state(roots.pid)
    run_dir = nobody_dir / "run"
    args = {
        "klass": "background",
        # policy and ioprio an owner can undo; nice it cannot (RLIMIT_NICE 0).
        "levers": {"nice": 5, "policy": SCHED_BATCH, "ioprio": [IOPRIO_CLASS_BE, 7]},
        "run_dir": str(run_dir),
        "pids": [mine.pid, roots.pid],
        "user_uid": NOBODY,
    }
    child, report = driver(procs, args, as_nobody=True)
    assert report == {"changed": 1, "eperm": 0, "esrch": 0}
    assert state(mine.pid) == (5, SCHED_BATCH, ioprio_value(IOPRIO_CLASS_BE, 7))
    assert state(roots.pid) == root_before
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write(b"\n")
    child.stdin.flush()
    after = json.loads(child.stdout.readline())
    assert after["irreversible"] == 1
    assert any("nice 5 -> 0 refused" in n for n in after["notes"])
    # The reversible levers came back; nice could not, and the journal says so.
    assert state(mine.pid) == (5, mine_before[1], mine_before[2])
    journal = json.loads((run_dir / "journal.json").read_text())
    assert journal["procs"] == []
    assert any(str(mine.pid) in n for n in journal["irreversible"])
    child.stdin.write(b"\n")
    child.stdin.flush()
    child.wait(timeout=10)


FACTS = """
import os, sys
out = []
os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
try:
    os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
    out.append("idle->other ok")
except PermissionError:
    out.append("idle->other EPERM")
os.setpriority(os.PRIO_PROCESS, 0, 10)
try:
    os.setpriority(os.PRIO_PROCESS, 0, 0)
    out.append("nice->0 ok")
except PermissionError:
    out.append("nice->0 EPERM")
with open("/proc/self/autogroup", "w") as f:
    f.write("10")
import time; time.sleep(0.15)
with open("/proc/self/autogroup", "w") as f:
    f.write("0")
out.append("autogroup " + open("/proc/self/autogroup").read().split()[-1])
print(";".join(out))
"""


def _has_cap(bit: int) -> bool:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("CapEff:"):
            return bool(int(line.split()[1], 16) >> bit & 1)
    return False


@pytest.mark.parametrize(("rlimit", "expected"), [(0, "EPERM"), (20, "ok")])
def test_kernel_lets_an_owner_leave_sched_idle_only_within_rlimit_nice(rlimit: int, expected: str) -> None:
    """The premise of user_mode_levers(): SCHED_IDLE and nice are one-way without RLIMIT_NICE,
    while an autogroup nice >= 0 can be undone by the owner."""
    if rlimit > resource.getrlimit(resource.RLIMIT_NICE)[1] and not _has_cap(24):
        pytest.skip("raising RLIMIT_NICE needs CAP_SYS_RESOURCE, which this root lacks")
    exe, env = unprivileged_python()

    def pre() -> None:
        resource.setrlimit(resource.RLIMIT_NICE, (rlimit, rlimit))
        os.setsid()  # a private autogroup, so the write below touches nothing else
        drop_to_nobody()

    out = subprocess.run(
        [exe, "-c", FACTS],
        preexec_fn=pre,  # the rlimit must be set before the uid drop
        env=env,
        cwd="/",
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert out == f"idle->other {expected};nice->0 {expected};autogroup 0"
