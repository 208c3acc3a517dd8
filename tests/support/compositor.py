"""What the headless GNOME Shell and KWin test sessions share: buses, env, Wayland and XWayland windows.

A session has its own XDG_RUNTIME_DIR and HOME, its own session bus (with the standard service
directories, so dconf can be activated for gsettings) and an empty private system bus: this
machine has none, and the shells only log that logind and friends are missing.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.bus import CONFIG
from tests.support.procs import terminate

REPO = Path(__file__).resolve().parents[2]


def wait(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(interval)
    raise RuntimeError(f"timed out after {timeout:g} s waiting for {what}")


@contextmanager
def session_bus(
    directory: Path, env: dict[str, str] | None = None, *, services: bool = True
) -> Iterator[str]:
    """A dbus-daemon any local uid may use; `services`: D-Bus activation from /usr/share (dconf).

    Services it starts get `env`: dconf-service must write the session's HOME, not the caller's.
    """
    socket = directory / "bus"
    config = directory / "bus.conf"
    text = CONFIG.format(socket=socket)
    if services:
        text = text.replace("  <auth>", "  <standard_session_servicedirs/>\n  <auth>")
    config.write_text(text, encoding="utf-8")
    proc = subprocess.Popen(
        ["dbus-daemon", f"--config-file={config}", "--nofork", "--print-address"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        address = proc.stdout.readline().strip()
        if not address:
            raise RuntimeError("dbus-daemon did not start")
        yield address
    finally:
        terminate(proc)  # type: ignore[arg-type]
        if proc.stdout is not None:
            proc.stdout.close()


@dataclass
class Window:
    proc: subprocess.Popen[bytes]
    app_id: str
    xwayland: bool

    @property
    def pid(self) -> int:
        return self.proc.pid


@dataclass
class Session:
    """A running compositor; `env` is what a client (or the agent) of the session sees."""

    root: Path
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    windows: list[Window] = field(default_factory=list)

    @property
    def agent_env(self) -> dict[str, str]:
        """The env for a SessionAgent under test: the session's, without idle sources.

        The agent's idle sources leave their socket open when the agent stops (Mutter's
        IdleMonitor: SessionBusIdle.close does not wait for the disconnect; the X screensaver
        on XWayland likewise), which filterwarnings=error turns into a failure. Focus from the
        compositor needs neither.
        """
        env = {k: v for k, v in self.env.items() if k not in ("DISPLAY", "XAUTHORITY")}
        env["SMOOTHDESK_NO_SESSION_IDLE"] = "1"
        return env

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def alive(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"the compositor exited ({self.proc.returncode}):\n{self.log_text()[-4000:]}")

    def foot(self, app_id: str) -> Window:
        """A native Wayland window: foot, in its own process group (its own app for the helper)."""
        out = (self.root / f"{app_id}.log").open("ab")
        proc = subprocess.Popen(
            ["foot", "--app-id", app_id, "sleep", "600"],
            env=self.env,
            stdout=out,
            stderr=out,
            process_group=0,
        )
        out.close()
        win = Window(proc, app_id, False)
        self.windows.append(win)
        return win

    def qt_window(self, app_id: str) -> Window:
        """A native Wayland window drawn by Qt (tests/support/qtwindow.py), in its own process group."""
        out = (self.root / f"{app_id}.log").open("ab")
        argv = [sys.executable, "-m", "tests.support.qtwindow", app_id]
        proc = subprocess.Popen(argv, env=self.env, cwd=REPO, stdout=out, stderr=out, process_group=0)
        out.close()
        win = Window(proc, app_id, False)
        self.windows.append(win)
        return win

    def x_window(self, title: str) -> Window:
        """An XWayland window with _NET_WM_PID (tests/support/xsession.py's test window)."""
        argv = [sys.executable, "-m", "tests.support.xsession", "window", title]
        proc = subprocess.Popen(
            argv, env=self.env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, process_group=0
        )
        assert proc.stdout is not None
        line = proc.stdout.readline().decode().strip()
        if not line.isdigit():
            raise RuntimeError(f"X test window {title!r} did not start (exit {proc.poll()})")
        win = Window(proc, title, True)
        self.windows.append(win)
        return win

    def stop(self) -> None:
        for win in reversed(self.windows):
            terminate(win.proc)
            if win.proc.stdout is not None:
                win.proc.stdout.close()
        if self.proc is not None:
            # Xwayland outlives its compositor for a moment, holding its X display (abstract
            # socket included): the next X test could take that number and reach a dying server.
            children = _children(self.proc.pid)
            terminate(self.proc)
            for pid in children:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            wait(lambda: not any(_running(pid) for pid in children), 10, "Xwayland to exit")


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan may wait for a reaper that never comes)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def x_display(log: str) -> str | None:
    """The XWayland display a compositor's log names (mutter: 'Using public X11 display :1')."""
    found = re.search(r"public X11 display (:\d+)", log)
    return found.group(1) if found else None


@contextmanager
def session_dirs(prefix: str) -> Iterator[tuple[Path, dict[str, str], ExitStack]]:
    """A scratch root, the base env (own runtime dir, HOME, XDG dirs, both buses) and an ExitStack."""
    with ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=prefix)))
        runtime, home = root / "runtime", root / "home"
        runtime.mkdir(mode=0o700)
        home.mkdir()
        (root / "system").mkdir()
        (root / "session").mkdir()
        drop = (
            "DISPLAY",
            "WAYLAND_DISPLAY",
            "SWAYSOCK",
            "XAUTHORITY",
            "XDG_CURRENT_DESKTOP",
            "XDG_SESSION_TYPE",
        )
        env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith(("XDG_", "DBUS_"))}
        env.update(
            XDG_RUNTIME_DIR=str(runtime), HOME=str(home), XDG_DATA_HOME=str(home / ".local/share"),
            XDG_CONFIG_HOME=str(home / ".config"), XDG_CACHE_HOME=str(home / ".cache"),
            XDG_SESSION_TYPE="wayland", NO_AT_BRIDGE="1",
        )  # fmt: skip
        env["DBUS_SYSTEM_BUS_ADDRESS"] = stack.enter_context(session_bus(root / "system", services=False))
        env["DBUS_SESSION_BUS_ADDRESS"] = stack.enter_context(session_bus(root / "session", env))
        yield root, env, stack


def missing(*tools: str) -> list[str]:
    return [t for t in tools if shutil.which(t) is None]
