"""A build driver that forks children without pause, and a census of what it left changed."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.support.procs import named_binary, sched_state

LEVERS = ("nice", "policy", "ioprio", "cgroup")


def spawn_driver(directory: Path, name: str = "sddriver", period: float = 0.03) -> subprocess.Popen[bytes]:
    """A shell named `name` (its own process group) that starts a `sleep 4` child every `period` s,
    and every tenth turn an orphan (`sdorphan`, a copy of sleep whose parent exits at once, so it
    is re-parented away from the driver's tree)."""
    shell = named_binary(directory, name)
    orphan = directory / "sdorphan"
    if not orphan.exists():
        shutil.copy2(shutil.which("sleep") or "/bin/sleep", orphan)
    script = (
        f"i=0; while :; do sleep 4 & i=$((i+1)); [ $((i % 10)) = 0 ] && ({orphan} 4 &); sleep {period}; done"
    )
    return subprocess.Popen([str(shell), "-c", script], process_group=0)


def table() -> dict[int, tuple[int, str]]:
    """pid -> (ppid, comm) of every process now."""
    out: dict[int, tuple[int, str]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            text = Path(f"/proc/{name}/stat").read_text()
        except OSError:
            continue
        comm = text[text.index("(") + 1 : text.rindex(")")]
        out[int(name)] = (int(text[text.rindex(")") + 2 :].split()[1]), comm)
    return out


def family(root: int) -> list[int]:
    """`root` (a driver), every live descendant, and every orphan it left: an `sdorphan` run from
    the driver's own directory. Other tests on the machine run drivers and orphans of their own,
    under the same names but from their own directories, with demotions of their own."""
    procs = table()
    found, todo = [root], [root]
    while todo:
        parent = todo.pop()
        kids = [p for p, (ppid, _) in procs.items() if ppid == parent]
        found += kids
        todo += kids
    mine = str(Path(os.readlink(f"/proc/{root}/exe")).parent / "sdorphan")
    return found + [
        p for p, (_, comm) in procs.items() if comm == "sdorphan" and p not in found and _exe(p) == mine
    ]


def _exe(pid: int) -> str:
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return ""  # it exited


def changed(pids: list[int], baseline: dict[str, object]) -> dict[int, dict[str, object]]:
    """The processes whose nice, policy, ioprio or cpu cgroup differ from `baseline`."""
    out: dict[int, dict[str, object]] = {}
    for pid in pids:
        try:
            state = sched_state(pid)
        except (OSError, ValueError, IndexError):
            continue  # it exited
        diff = {k: state[k] for k in LEVERS if state[k] != baseline[k]}
        if diff:
            out[pid] = diff
    return out
