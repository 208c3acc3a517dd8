"""actuator.selfreset on a real demoted process: every thread, the cgroup, and the autogroup only if ours."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from smoothdesk.actuator import CgroupV1Backend
from smoothdesk.actuator.journal import AutogroupEntry, Journal, JournalData
from smoothdesk.core import ProcKey
from tests.support.users import REPO

pytestmark = pytest.mark.root

CPU_MOUNT = Path("/sys/fs/cgroup/cpu")

# Demote ourselves as SmoothDesk would have (a second thread too), then start clean and report.
CHILD = """
import json, os, sys, threading
from pathlib import Path
from smoothdesk.actuator import syscalls as sc
from smoothdesk.actuator.selfreset import start_clean
group, run_dir, autogroup_nice, nice = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
Path(group, "cgroup.procs").write_text(str(os.getpid()))
os.setpriority(os.PRIO_PROCESS, 0, nice)
if nice > 0:
    os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    sc.set_ioprio(os.getpid(), sc.ioprio_value(sc.IOPRIO_CLASS_IDLE, 0))
Path("/proc/self/autogroup").write_text(str(autogroup_nice))
ready, done = threading.Event(), threading.Event()
def worker():
    sc.set_nice(threading.get_native_id(), 19)
    ready.set(); done.wait()
t = threading.Thread(target=worker); t.start(); ready.wait()
print(json.dumps({"agid": sc.read_autogroup(os.getpid(), Path("/proc"))[0]}), flush=True)
sys.stdin.readline()
out = start_clean(Path(run_dir))
threads = {tid: list(sc.read_thread(tid))[:3] for tid in sc.list_tids(os.getpid(), Path("/proc"))}
lines = [line.split(":", 2) for line in Path("/proc/self/cgroup").read_text().splitlines()]
cg = [path for _, ctrl, path in lines if ctrl == "cpu"]
ag = sc.read_autogroup(os.getpid(), Path("/proc"))
print(json.dumps({"threads": threads, "cgroup": cg[0], "autogroup": ag[1], "changed": out.changed,
                  "kept": out.kept}), flush=True)
done.set(); t.join()
"""


@pytest.fixture
def group() -> Iterator[Path]:
    if not (CPU_MOUNT / "cpu.shares").exists():
        pytest.skip("no cgroup v1 cpu hierarchy here")
    prefix = f"smoothdesk-test-{os.getpid()}"
    path = CPU_MOUNT / prefix / "idle"
    path.mkdir(parents=True)
    (CPU_MOUNT / prefix / "cpu.idle").write_text("1")
    yield path
    CgroupV1Backend(CPU_MOUNT, prefix=prefix).close(clean=True)


def run_child(group: Path, run_dir: Path, *, journaled: bool, nice: int = 19) -> dict[str, object]:
    env = {**os.environ, "SMOOTHDESK_CGROUP_PREFIX": group.parent.name}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(group), str(run_dir), "19", str(nice)],
        cwd=REPO,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        start_new_session=True,  # an autogroup of its own: nothing else feels its nice
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        agid = json.loads(child.stdout.readline())["agid"]
        if journaled:
            data = JournalData()
            data.autogroups[agid] = AutogroupEntry(agid, 0, 19, ProcKey(child.pid, 0))
            Journal(run_dir).save(data)
        child.stdin.write(b"\n")
        child.stdin.flush()
        result: dict[str, object] = json.loads(child.stdout.readline())
        assert child.wait(timeout=10) == 0
        return result
    finally:
        child.kill()
        child.wait()
        child.stdin.close()
        child.stdout.close()


def test_a_demoted_start_comes_back_to_neutral_and_a_journaled_autogroup_to_its_original(
    group: Path, tmp_path: Path
) -> None:
    out = run_child(group, tmp_path / "run", journaled=True)
    threads = out["threads"]
    assert isinstance(threads, dict) and len(threads) == 2
    assert all(state == [0, 0, 0] for state in threads.values()), threads  # nice, policy, ioprio
    assert out["cgroup"] == "/"
    assert out["autogroup"] == 0
    assert any("journaled" in c for c in out["changed"]), out  # type: ignore[attr-defined]
    assert out["kept"] == []


def test_an_autogroup_its_session_niced_and_a_boost_are_left_alone(group: Path, tmp_path: Path) -> None:
    out = run_child(group, tmp_path / "run", journaled=False, nice=-5)
    threads = out["threads"]
    assert isinstance(threads, dict)
    main, worker = sorted(threads.items())
    assert main[1] == [-5, 0, 0]  # an operator's boost (a unit's Nice=-5) stays
    assert worker[1] == [0, 0, 0]
    assert out["cgroup"] == "/"
    assert out["autogroup"] == 19
    assert any("the session's own" in k for k in out["kept"]), out  # type: ignore[attr-defined]
