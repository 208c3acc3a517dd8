"""A private headless sway for tests: its own XDG_RUNTIME_DIR and config, and real Wayland windows.

    with swaysession() as s:            # s.env has WAYLAND_DISPLAY, SWAYSOCK, XDG_RUNTIME_DIR
        one = s.window("sd-one")        # a foot terminal in its own process, mapped by sway
        s.focus(one.pid)                # swaymsg '[pid=N] focus', then waits until sway says so
        assert s.focused_pid() == one.pid
        s.quit_sway(); s.start_sway()   # sway exits, and a new one serves the same $SWAYSOCK

sway refuses to run as root, so under root it runs as nobody; the windows stay the caller's own
processes (root may open nobody's sockets), as the helper accepts focus reports only for those.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.procs import terminate
from tests.support.users import NOBODY, drop_to_nobody

TOOLS = ("sway", "swaymsg", "foot")
CONFIG = """\
output HEADLESS-1 resolution 1024x768
xwayland disable
focus_follows_mouse no
default_border none
"""


def missing_tools() -> list[str]:
    """The tools this machine lacks (Debian packages sway and foot)."""
    return [t for t in TOOLS if shutil.which(t) is None]


def _wait(predicate: Callable[[], object], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.05)
    raise RuntimeError(f"timed out after {timeout:g} s waiting for {what}")


@dataclass
class Window:
    """A test window's process (a foot terminal running sleep)."""

    proc: subprocess.Popen[bytes]
    app_id: str

    @property
    def pid(self) -> int:
        return self.proc.pid


@dataclass
class SwaySession:
    runtime: Path
    wayland_display: str
    swaysock: str
    sway: subprocess.Popen[bytes]
    log_dir: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "XAUTHORITY")}
        env.update(
            XDG_RUNTIME_DIR=str(self.runtime),
            WAYLAND_DISPLAY=self.wayland_display,
            SWAYSOCK=self.swaysock,
            XDG_SESSION_TYPE="wayland",
            XDG_CURRENT_DESKTOP="sway",
        )
        return env

    def msg(self, *args: str) -> str:
        argv = ["swaymsg", *args]
        done = subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=20, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"swaymsg {' '.join(args)} failed: {done.stdout} {done.stderr}")
        return done.stdout

    def tree(self) -> dict[str, Any]:
        tree: dict[str, Any] = json.loads(self.msg("-r", "-t", "get_tree"))
        return tree

    def window_pids(self) -> set[int]:
        return {n["pid"] for n in _nodes(self.tree()) if isinstance(n.get("pid"), int)}

    def focused_pid(self) -> int | None:
        return next((n.get("pid") for n in _nodes(self.tree()) if n.get("focused")), None)

    def window(self, app_id: str, timeout: float = 30.0) -> Window:
        """A foot terminal (the caller's process) that sway has mapped; it gets the focus."""
        with (self.log_dir / f"{app_id}.log").open("ab") as log:
            # Its own process group, so the helper sees it as its own app, not part of the test run.
            proc = subprocess.Popen(
                ["foot", "--app-id", app_id, "sleep", "600"], env=self.env, stdout=log, stderr=log,
                process_group=0,
            )  # fmt: skip
        self.procs.append(proc)
        _wait(lambda: proc.pid in self.window_pids() or proc.poll() is not None, timeout, f"{app_id} mapped")
        if proc.poll() is not None:
            raise RuntimeError(f"foot exited: {(self.log_dir / f'{app_id}.log').read_text()}")
        return Window(proc, app_id)

    def start_sway(self, timeout: float = 30.0) -> None:
        """Start sway (again); a restart keeps the IPC path, which sway takes from $SWAYSOCK when free."""
        root = os.getuid() == 0
        env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "SWAYSOCK")}
        env.update(
            XDG_RUNTIME_DIR=str(self.runtime), HOME=str(self.log_dir), WLR_BACKENDS="headless",
            WLR_LIBINPUT_NO_DEVICES="1", WLR_RENDERER="pixman",
        )  # fmt: skip
        if self.swaysock:
            env["SWAYSOCK"] = self.swaysock
        with (self.log_dir / "sway.log").open("ab") as log:
            sway = subprocess.Popen(
                ["sway", "-c", str(self.log_dir / "config")], env=env, stdout=log, stderr=log,
                preexec_fn=drop_to_nobody if root else None,
            )  # fmt: skip
        self.sway = sway
        wanted = self.swaysock or f"sway-ipc.*.{sway.pid}.sock"

        def sockets() -> tuple[str, str] | None:
            if sway.poll() is not None:
                raise RuntimeError(f"sway exited: {(self.log_dir / 'sway.log').read_text()}")
            ipc = [wanted] if self.swaysock else sorted(str(p) for p in self.runtime.glob(wanted))
            wl = sorted(p.name for p in self.runtime.glob("wayland-*") if not p.name.endswith(".lock"))
            return (ipc[0], wl[0]) if ipc and Path(ipc[0]).exists() and wl else None

        try:
            self.swaysock, self.wayland_display = _wait(sockets, timeout, "sway's sockets")
            _wait(self._answers, timeout, "sway IPC answering")
        except BaseException:
            terminate(sway)
            raise

    def _answers(self) -> bool:
        # sway binds its socket before its event loop runs: a connect can succeed and get no reply.
        try:
            return bool(self.msg("-t", "get_version"))
        except RuntimeError:
            return False

    def quit_sway(self) -> None:
        """sway exits (SIGTERM), as when the person logs out: the windows go with it."""
        terminate(self.sway)
        for proc in self.procs:
            terminate(proc)
        self.procs.clear()

    def focus(self, pid: int, timeout: float = 20.0) -> None:
        """Focus the window of `pid` as a key binding would, and wait until sway reports it."""
        self.msg(f"[pid={pid}] focus")
        _wait(lambda: self.focused_pid() == pid, timeout, f"pid {pid} focused")


def _nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in (*node.get("nodes", ()), *node.get("floating_nodes", ())):
        yield from _nodes(child)


@contextmanager
def swaysession(timeout: float = 30.0) -> Iterator[SwaySession]:
    """sway with the headless backend and pixman renderer (no GPU, no input devices); all stopped after."""
    missing = missing_tools()
    if missing:
        raise RuntimeError(f"missing tools: {', '.join(missing)} (apt-get install sway foot)")
    with ExitStack() as stack:
        log_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sd-sway-")))
        runtime = log_dir / "runtime"
        runtime.mkdir(mode=0o700)
        (log_dir / "config").write_text(CONFIG)
        if os.getuid() == 0:
            for path in (log_dir, runtime, log_dir / "config"):
                os.chown(path, NOBODY, NOBODY)
        session = SwaySession(runtime, "", "", None, log_dir)  # type: ignore[arg-type]
        try:
            session.start_sway(timeout)
            yield session
        finally:
            for proc in reversed(session.procs):
                terminate(proc)
            if session.sway is not None:
                terminate(session.sway)
