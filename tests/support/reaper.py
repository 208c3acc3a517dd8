"""Every process a test session starts is found and killed: at session end, and by a watchdog if pytest dies.

Each pytest session adds a token of its own to SMOOTHDESK_TEST_SESSION (a comma list, so an outer
session's token survives into nested ones). Every process started under the session inherits it, even
after its parent died and it was re-parented to init, so /proc/PID/environ finds it; PYTEST_CURRENT_TEST
in the same environ names the test that started it. Run as a script, this module is the watchdog: it
waits for the pytest process to exit (however it exits: pytest-timeout's os._exit, SIGKILL) and then
kills whatever still carries the token. PR_SET_PDEATHSIG would reach only direct children, not the
`sleep` a named shell forks.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

ENV = "SMOOTHDESK_TEST_SESSION"
_PROC = Path("/proc")


@dataclass(frozen=True)
class Leftover:
    pid: int
    args: str
    test: str  # PYTEST_CURRENT_TEST when it was started, or "" when started outside a test

    def describe(self) -> str:
        return f"pid {self.pid} `{self.args}` started by {self.test or 'no test (session set-up)'}"


def begin_session() -> str:
    """A fresh token for this pytest process, added to the environment its children inherit."""
    token = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    os.environ[ENV] = ",".join(filter(None, [os.environ.get(ENV, ""), token]))
    return token


def _environ(pid: int) -> dict[str, str] | None:
    try:
        raw = (_PROC / str(pid) / "environ").read_bytes()
    except OSError:  # gone, or another user's process we may not read
        return None
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {k.decode(errors="replace"): v.decode(errors="replace") for k, v in pairs}


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, ppid) of `pid`, or None when it is gone."""
    try:
        text = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = text[text.rfind(")") + 2 :].split()
    return fields[0], int(fields[1])


def _args(pid: int) -> str:
    try:
        raw = (_PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return "?"
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def _pids() -> list[int]:
    return [int(p.name) for p in _PROC.iterdir() if p.name.isdigit()]


def _alive(pid: int) -> bool:
    st = _stat(pid)
    return st is not None and st[0] not in ("Z", "X")


def descendants(root: int) -> set[int]:
    """Live processes whose ppid chain leads to `root` (not `root` itself)."""
    children: dict[int, list[int]] = {}
    for pid in _pids():
        st = _stat(pid)
        if st is not None and st[0] not in ("Z", "X"):
            children.setdefault(st[1], []).append(pid)
    found: set[int] = set()
    todo = list(children.get(root, []))
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, []))
    return found


def marked(token: str) -> set[int]:
    """Live processes (other than this one) that inherited `token`."""
    me = os.getpid()
    found = set()
    for pid in _pids():
        env = _environ(pid) if pid != me else None
        if env is not None and token in env.get(ENV, "").split(",") and _alive(pid):
            found.add(pid)
    return found


def leftovers(token: str, *, exclude: frozenset[int] = frozenset(), grace: float = 2.0) -> list[Leftover]:
    """What the session left running: marked or descendant processes still alive after `grace` s."""
    deadline = time.monotonic() + grace
    while True:
        pids = (marked(token) | descendants(os.getpid())) - exclude
        if not pids or time.monotonic() >= deadline:
            break
        time.sleep(0.1)  # one being torn down (a helper after SIGTERM) is not a leak
    out = []
    for pid in sorted(pids):
        env = _environ(pid) or {}
        out.append(Leftover(pid, _args(pid), env.get("PYTEST_CURRENT_TEST", "")))
    return [p for p in out if _alive(p.pid)]


def kill(pids: set[int] | list[int], timeout: float = 5.0) -> None:
    """SIGKILL each pid, then wait until none is alive (a zombie child of ours counts as dead)."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.02)


def sweep(token: str) -> int:
    """Kill everything carrying `token` until a scan finds nothing (a dying shell may fork once more)."""
    killed = 0
    for _ in range(20):
        pids = marked(token)
        if not pids:
            break
        kill(pids)
        killed += len(pids)
    return killed


def start_watchdog(token: str) -> int:
    """A process outside the session (no token, own session) that sweeps `token` once we exit.

    posix_spawn, not Popen: it outlives us by design, and a Popen would warn that it still runs."""
    env = {k: v for k, v in os.environ.items() if k not in (ENV, "PYTEST_CURRENT_TEST")}
    devnull = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0)]
    argv = [sys.executable, "-S", __file__, str(os.getpid()), token]
    return os.posix_spawn(sys.executable, argv, env, file_actions=devnull, setsid=True)


def _wait_for_exit(pid: int) -> None:
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        poller.poll()
    finally:
        os.close(fd)


def main(argv: list[str]) -> int:
    pid, token = int(argv[1]), argv[2]
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C for pytest must not stop the clean-up
    _wait_for_exit(pid)
    killed = sweep(token)
    if killed:
        print(f"smoothdesk test reaper: killed {killed} process(es) left by pytest {pid}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
