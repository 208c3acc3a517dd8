"""Where bench_realload's processes live: the measured app, a faked systemd app unit, CPU accounting.

systemd is absent on this machine, so the "shared unit" topology fakes what systemd would make:
a directory `user.slice/user-0.slice/user@0.service/app.slice/app-gnome-BenchIde-<pid>.scope` in
the cgroup v1 `name=systemd` hierarchy, which is the path the collector reads a unit from when the
v2 path is the root (collector/cgroups.parse_cgroup). Nothing answers for that unit on D-Bus.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SYSTEMD_V1 = Path("/sys/fs/cgroup/systemd")
CPUACCT = Path("/sys/fs/cgroup/cpuacct")
UNIT_PARENT = "user.slice/user-0.slice/user@0.service/app.slice"
_IN_CGROUP = 'echo $$ > "$0" && exec "$@"'


def in_cgroup(procs_file: Path | None, argv: list[str]) -> list[str]:
    """argv run inside a cgroup from its first instruction (everything it starts is born there)."""
    return argv if procs_file is None else ["sh", "-c", _IN_CGROUP, str(procs_file), *argv]


class FakeUnit:
    """An app scope in the name=systemd hierarchy; removed again, with the parents it created."""

    made = 0

    def __init__(self) -> None:
        if not (SYSTEMD_V1 / "cgroup.procs").exists():
            raise SystemExit(f"no cgroup v1 name=systemd hierarchy at {SYSTEMD_V1}: cannot fake a unit")
        FakeUnit.made += 1
        self.name = f"app-gnome-BenchIde-{os.getpid()}n{FakeUnit.made}.scope"
        self.created: list[Path] = []
        path = SYSTEMD_V1
        for part in [*UNIT_PARENT.split("/"), self.name]:
            path = path / part
            if not path.exists():
                path.mkdir()
                self.created.append(path)
        self.path = path
        self.procs = path / "cgroup.procs"

    def close(self) -> None:
        for leaf in reversed(self.created):
            deadline = time.monotonic() + 5
            while leaf.exists():
                with contextlib.suppress(OSError):
                    for pid in (leaf / "cgroup.procs").read_text().split():
                        (SYSTEMD_V1 / "cgroup.procs").write_text(pid)
                try:
                    leaf.rmdir()
                except OSError:
                    # Busy while an exiting process leaves it; or a parent another user shares.
                    if time.monotonic() > deadline or leaf != self.path:
                        break
                    time.sleep(0.05)


class App:
    """realload_app.py in a session of its own (optionally born in a unit); runs and spawns for us."""

    def __init__(self, procs_file: Path | None = None) -> None:
        argv = in_cgroup(procs_file, ["python3", str(HERE / "realload_app.py")])
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True
        )
        self.pid = self.proc.pid
        self.ask(op="reap")  # answered once the app runs, so it is in its cgroup by now

    def ask(self, **req: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the measured app (pid {self.pid}) died; request was {req}")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


class Accounting:
    """The CPU the rest of the machine (other agents) used while we measured, via a cpuacct group."""

    def __init__(self) -> None:
        self.group: Path | None = CPUACCT / f"sd-realload-{os.getpid()}"
        try:
            self.group.mkdir()
            (self.group / "cgroup.procs").write_text(str(os.getpid()))
        except OSError:
            self.group = None
        self.ncpu = os.cpu_count() or 1
        self.start()

    def _busy_ns(self) -> int:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
        return (user + nice + system + irq + softirq + steal) * 10**9 // os.sysconf("SC_CLK_TCK")

    def _mine_ns(self) -> int:
        return int((self.group / "cpuacct.usage").read_text()) if self.group else 0

    def start(self) -> None:
        self.t0, self.busy0, self.mine0 = time.monotonic(), self._busy_ns(), self._mine_ns()

    def foreign_share(self) -> float | None:
        """Share of all CPUs (0..1) used by processes outside this bench since start()."""
        if self.group is None:
            return None
        wall = (time.monotonic() - self.t0) * 1e9 * self.ncpu
        other = (self._busy_ns() - self.busy0) - (self._mine_ns() - self.mine0)
        return max(0.0, other / wall) if wall > 0 else None

    def close(self) -> None:
        if self.group is None:
            return
        with contextlib.suppress(OSError):
            for pid in (self.group / "cgroup.procs").read_text().split():
                with contextlib.suppress(OSError):
                    (CPUACCT / "cgroup.procs").write_text(pid)
            self.group.rmdir()


def levers(pid: int) -> dict[str, str] | None:
    """What the scheduler sees of a process: nice, policy, autogroup nice, cpu cgroup (None: gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
        # Empty for the root autogroup (a tree that never called setsid).
        ag = (Path(f"/proc/{pid}/autogroup").read_text().split() or ["root"])[-1]
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    cg = next((ln.split(":", 2)[2] for ln in lines if ln.split(":")[1] == "cpu"), "?")
    policy = {"0": "other", "1": "fifo", "2": "rr", "3": "batch", "5": "idle"}.get(fields[38], fields[38])
    return {"nice": fields[16], "policy": policy, "ag_nice": ag, "cgroup": cg}


def is_neutral(state: dict[str, str], ag_nice: int = 0) -> bool:
    """Untouched: nice 0, SCHED_OTHER, the root cpu cgroup, and the session's autogroup nice as the
    bench set it (0, or bench_realload --shield's -20)."""
    return state == {"nice": "0", "policy": "other", "ag_nice": str(ag_nice), "cgroup": "/"}


def describe(state: dict[str, str] | None) -> str:
    if state is None:
        return "gone"
    return f"nice {state['nice']} {state['policy']} ag-nice {state['ag_nice']} cg {state['cgroup']}"
