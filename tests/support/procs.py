"""Real processes for tests: hogs with a chosen comm, and readers of their scheduling state."""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

_libc = ctypes.CDLL(None, use_errno=True)
_IOPRIO_GET = 252


def named_binary(directory: Path, name: str) -> Path:
    """A copy of dash under `name`, so the kernel's comm (and exe) is that name."""
    src = shutil.which("dash") or "/bin/sh"
    dst = directory / name
    shutil.copy2(os.path.realpath(src), dst)
    dst.chmod(0o755)
    return dst


def spawn_hog(binary: Path, *, new_session: bool = False, **kw: object) -> subprocess.Popen[bytes]:
    """A CPU spinner under `binary`'s name, in its own process group (like a shell job)."""
    extra: dict[str, object] = {"start_new_session": True} if new_session else {"process_group": 0}
    extra.update(kw)
    return subprocess.Popen([str(binary), "-c", "while :; do :; done"], **extra)  # type: ignore[call-overload]


def spawn_sleeper(binary: Path, **kw: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen([str(binary), "-c", "sleep 600"], process_group=0, **kw)  # type: ignore[call-overload]


def stop(*procs: subprocess.Popen[bytes]) -> None:
    """SIGKILL each process and, when it leads its own process group, the whole group: a named
    shell running `sleep 600` forks the sleep, which would otherwise outlive it (re-parented to init)."""
    for p in procs:
        if p.returncode is None:  # not reaped yet, so p.pid is still this process's
            with contextlib.suppress(ProcessLookupError):
                if os.getpgid(p.pid) == p.pid:
                    os.killpg(p.pid, signal.SIGKILL)
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
        p.wait(timeout=5)


def terminate(proc: subprocess.Popen[bytes], timeout: float = 5.0) -> None:
    """SIGTERM a daemon a fixture started (SIGCONT first: a test may have stopped it), SIGKILL it
    when it does not exit in time, and reap it."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGCONT)
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)


def stat_fields(pid: int) -> list[str]:
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rfind(")") + 2 :].split()


def sched_state(pid: int) -> dict[str, object]:
    """nice, policy, ioprio and cpu cgroup of every thread-leader: what the actuator may change."""
    fields = stat_fields(pid)
    ioprio = _libc.syscall(_IOPRIO_GET, 1, pid)
    cgroup = ""
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if "cpu" in controllers.split(","):
            cgroup = path
    # Empty when the kernel has autogroup off, or for a tree in the root autogroup (no setsid since
    # boot, as under some CI runners): the kernel prints nothing for the root group.
    autogroup = Path(f"/proc/{pid}/autogroup").read_text().split()
    return {
        "nice": int(fields[16]),
        "policy": int(fields[38]),
        "ioprio": ioprio,
        "cgroup": cgroup,
        "autogroup_nice": int(autogroup[-1]) if autogroup else None,
    }


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
