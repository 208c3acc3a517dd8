"""A real compile storm: `make -jN` running `gcc -O2` on generated C units, looped until stopped.

The units are loop-heavy C (vectorisable loops, switch tables) so that the real cc1 does real
optimisation work for a good fraction of a second per unit, then the real `as` assembles it.
Every process of the storm runs with the storm's directory as its working directory: that is
how it is found and stopped, wherever it sits (own session, an app's process group, a unit).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

PROC = Path("/proc")
CPU_ROOT = Path("/sys/fs/cgroup/cpu/cgroup.procs")
FUNCS_PER_UNIT = 48

_FUNC = """
struct s{f} {{ int a[16]; double d[8]; }};
static const int tab{f}[64] = {{ {table} }};
int u{u}_f{f}(int n, struct s{f} *p, const char *str) {{
    int acc = {f};
    for (int i = 0; i < n; i++) {{
        acc += tab{f}[(i + acc) & 63] * (i ^ {f});
        p->a[i & 15] += acc >> 3;
        p->d[i & 7] = p->d[(i + 1) & 7] * 1.5 + acc;
        switch ((acc + i) % 7) {{
        case 0: acc ^= (int)strlen(str + (i & 3)); break;
        case 1: acc += p->a[(i * 3) & 15]; break;
        case 2: acc -= (int)p->d[i & 7]; break;
        case 3: acc *= 3; break;
        case 4: acc = (acc << 1) | (acc >> 30); break;
        case 5: acc += i * {f}; break;
        default: acc--; break;
        }}
    }}
    return acc;
}}
"""


def unit_source(unit: int, funcs: int = FUNCS_PER_UNIT) -> str:
    """One C translation unit; distinct per unit number so no two are the same work."""
    parts = ["#include <string.h>\n"]
    for f in range(funcs):
        table = ", ".join(str((unit * 131 + f * 31 + k * 7) % 97) for k in range(64))
        parts.append(_FUNC.format(u=unit, f=f, table=table))
    return "".join(parts)


def write_project(directory: Path, units: int, funcs: int = FUNCS_PER_UNIT) -> Path:
    """C units and a Makefile that builds each into an object with gcc -O2 (no -pipe: cc1, then as)."""
    directory.mkdir(parents=True, exist_ok=True)
    objs = []
    for u in range(units):
        (directory / f"u{u:03d}.c").write_text(unit_source(u, funcs))
        objs.append(f"u{u:03d}.o")
    (directory / "Makefile").write_text(
        f"OBJS := {' '.join(objs)}\nall: $(OBJS)\n%.o: %.c\n\tgcc -O2 -c -o $@ $<\n"
    )
    return directory


def storm_argv(directory: Path, jobs: int, nice: int | None = None) -> list[str]:
    """A shell that rebuilds everything with make -jN, forever (the storm never pauses for long)."""
    loop = f"cd {directory} && while :; do make -s -B -j{jobs} >/dev/null 2>&1 || sleep 0.1; done"
    argv = ["sh", "-c", loop]
    return ["nice", "-n", str(nice), *argv] if nice is not None else argv


def _cwd(pid: int) -> str | None:
    try:
        return os.readlink(PROC / str(pid) / "cwd")
    except OSError:
        return None


def members(directory: Path) -> list[int]:
    """Pids of the storm's processes: every process working in its directory."""
    target = str(directory.resolve())
    out = []
    for entry in PROC.iterdir():
        if entry.name.isdigit() and _cwd(int(entry.name)) == target:
            out.append(int(entry.name))
    return sorted(out)


def comm(pid: int) -> str:
    try:
        return (PROC / str(pid) / "comm").read_text().strip()
    except OSError:
        return ""


def _undemote(pid: int) -> None:
    # A process left demoted (nice 19 in an idle cgroup) can wait many seconds on a busy machine
    # for the CPU time it needs to exit.
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, pid, 0)
    with contextlib.suppress(OSError):
        os.sched_setscheduler(pid, os.SCHED_OTHER, os.sched_param(0))
    with contextlib.suppress(OSError):
        CPU_ROOT.write_text(str(pid))


def stop(directory: Path, timeout: float = 60.0) -> None:
    """Freeze the storm until no new process appears (make forks fast), then kill it all."""
    deadline = time.monotonic() + timeout
    stopped: set[int] = set()
    while time.monotonic() < deadline:
        fresh = [p for p in members(directory) if p not in stopped]
        if not fresh:
            break
        for pid in fresh:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
            stopped.add(pid)
    for pid in stopped:
        _undemote(pid)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    while members(directory) and time.monotonic() < deadline:
        time.sleep(0.02)
    left = members(directory)
    if left:
        raise RuntimeError(f"storm processes still alive after {timeout:g} s: {left}")
