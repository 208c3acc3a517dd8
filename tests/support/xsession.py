"""A private X session for tests: Xvfb, openbox (EWMH), optionally trayer, and real test windows.

    with xsession(tray=True) as x:      # x.display == ":N", x.env has DISPLAY
        win = x.window("one")           # a real X window in its own process, _NET_WM_PID set
        x.activate(win.wid)             # through the window manager, as a user would
        assert x.active_window() == win.wid
        x.crash_server()                # SIGKILL Xvfb (its clients go with it)
        x.start_server_again()          # a new Xvfb and openbox on the same display number

`python -m tests.support.xsession window TITLE` is that window's process: it maps a focusable
window with _NET_WM_PID and WM_CLIENT_MACHINE, prints its id and serves events until killed.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from Xlib import X, Xatom
from Xlib.display import Display

from tests.support.procs import terminate

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ("Xvfb", "openbox", "xdotool")


def missing_tools(*extra: str) -> list[str]:
    """The X tools this machine lacks (make test installs them with apt)."""
    return [t for t in (*TOOLS, *extra) if shutil.which(t) is None]


def _wait(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise RuntimeError(f"timed out after {timeout:g} s waiting for {what}")


@dataclass
class Window:
    """A test window's process and its X window id."""

    proc: subprocess.Popen[bytes]
    wid: int
    title: str

    @property
    def pid(self) -> int:
        return self.proc.pid


@dataclass
class XSession:
    display: str
    log_dir: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    server: subprocess.Popen[bytes] | None = None
    size: str = "1024x768x24"

    def crash_server(self) -> None:
        """SIGKILL Xvfb, as a crash would: the window manager and every window go with it."""
        assert self.server is not None
        self.server.kill()
        self.server.wait(timeout=10)
        for proc in self.procs:
            terminate(proc)
            if proc.stdout is not None:
                proc.stdout.close()
        self.procs.clear()

    def start_server_again(self, timeout: float = 20.0, *, wm: bool = True) -> None:
        """A new Xvfb on the same display number (and openbox), as a restarted session would bring."""
        self.server = _start_xvfb(self.log_dir, self.size, timeout, self.display)[0]
        if wm:
            self.start_wm()

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY", "XAUTHORITY")}
        env["DISPLAY"] = self.display
        return env

    def spawn(self, argv: list[str], name: str, **kw: object) -> subprocess.Popen[bytes]:
        """Start a client of this display; stopped (SIGTERM) when the session ends."""
        with (self.log_dir / f"{name}.log").open("ab") as log:
            proc: subprocess.Popen[bytes] = subprocess.Popen(argv, env=self.env, stdout=log, stderr=log, **kw)  # type: ignore[call-overload]
        self.procs.append(proc)
        return proc

    def connect(self) -> Display:
        return Display(self.display)

    def root_property(self, name: str) -> list[int] | None:
        d = self.connect()
        try:
            prop = d.screen().root.get_full_property(d.intern_atom(name), X.AnyPropertyType)
            return list(prop.value) if prop is not None else None
        finally:
            d.close()

    def selection_owner(self, name: str) -> int:
        d = self.connect()
        try:
            owner = d.get_selection_owner(d.intern_atom(name))
            return int(owner.id) if owner else 0
        finally:
            d.close()

    def start_wm(self, timeout: float = 20.0, attempts: int = 2) -> None:
        """openbox, ready once it set _NET_SUPPORTING_WM_CHECK. A fresh-clone run once saw it
        not ready after 20 s (its log gone with the run), so a second openbox is tried, and the
        error carries each one's exit status and log."""
        seen = []
        for _ in range(attempts):
            proc = self.spawn(["openbox", "--sm-disable"], "openbox")
            try:
                _wait(
                    lambda p=proc: p.poll() is None and bool(self.root_property("_NET_SUPPORTING_WM_CHECK")),
                    timeout,
                    f"openbox on {self.display}",
                )
                return
            except RuntimeError as exc:
                seen.append(f"{exc} (exit {proc.poll()})")
                terminate(proc)
                self.procs.remove(proc)
        log = (self.log_dir / "openbox.log").read_text(errors="replace")[-2000:]
        raise RuntimeError("; ".join(seen) + f"; openbox.log:\n{log}")

    def start_tray(self, timeout: float = 20.0) -> subprocess.Popen[bytes]:
        """trayer as the XEmbed tray host; ready once it owns _NET_SYSTEM_TRAY_S0."""
        proc = self.spawn(
            ["trayer", "--edge", "top", "--align", "right", "--widthtype", "pixel", "--width", "200"],
            "trayer",
        )
        _wait(
            lambda: proc.poll() is None and self.selection_owner("_NET_SYSTEM_TRAY_S0") != 0,
            timeout,
            f"trayer on {self.display} (see {self.log_dir}/trayer.log)",
        )
        return proc

    def window(self, title: str, timeout: float = 20.0, *, pid: bool = True, host: str = "") -> Window:
        """A real window in its own process (and process group), mapped and known to the WM.

        pid=False leaves out _NET_WM_PID; `host` claims another WM_CLIENT_MACHINE (a remote client).
        """
        argv = [sys.executable, "-m", "tests.support.xsession", "window", title, "1" if pid else "0", host]
        proc = subprocess.Popen(
            argv, env=self.env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, process_group=0
        )
        self.procs.append(proc)
        assert proc.stdout is not None
        line = proc.stdout.readline().decode().strip()
        if not line.isdigit():
            raise RuntimeError(f"test window {title!r} did not start (exit {proc.poll()})")
        wid = int(line)
        _wait(lambda: wid in (self.root_property("_NET_CLIENT_LIST") or []), timeout, f"{title} managed")
        return Window(proc, wid, title)

    def xdotool(self, *args: str) -> str:
        out = subprocess.run(
            ["xdotool", *args], env=self.env, capture_output=True, text=True, timeout=30, check=True
        )
        return out.stdout

    def active_window(self) -> int:
        value = self.root_property("_NET_ACTIVE_WINDOW")
        return value[0] if value else 0

    def activate(self, wid: int, timeout: float = 10.0) -> None:
        """Ask the WM to activate `wid` (the _NET_ACTIVE_WINDOW client message) and wait for it."""
        self.xdotool("windowactivate", str(wid))
        _wait(lambda: self.active_window() == wid, timeout, f"window {wid:#x} to become active")


def _start_xvfb(
    log_dir: Path, size: str, timeout: float, display: str = ""
) -> tuple[subprocess.Popen[bytes], str]:
    """Xvfb on `display`, or on a free display it picks itself and names (-displayfd)."""
    read_fd, write_fd = os.pipe()
    with (log_dir / "xvfb.log").open("ab") as log:
        proc = subprocess.Popen(
            ["Xvfb", *([display] if display else []), "-displayfd", str(write_fd), "-nolisten", "tcp",
             "-screen", "0", size],
            stdout=log,
            stderr=log,
            pass_fds=(write_fd,),
        )  # fmt: skip
    os.close(write_fd)
    try:
        number = b""
        deadline = time.monotonic() + timeout
        while not number.endswith(b"\n") and time.monotonic() < deadline:
            chunk = os.read(read_fd, 16)
            if not chunk:
                break
            number += chunk
    finally:
        os.close(read_fd)
    if not number.strip().isdigit():
        terminate(proc)
        raise RuntimeError(f"Xvfb did not start (see {log_dir}/xvfb.log)")
    return proc, f":{number.decode().strip()}"


@contextmanager
def xsession(
    *, wm: bool = True, tray: bool = False, size: str = "1024x768x24", log_dir: Path | None = None
) -> Iterator[XSession]:
    """Xvfb on a free display (no TCP), openbox unless wm=False, trayer if tray=True; all stopped after."""
    missing = missing_tools(*(["trayer"] if tray else []))
    if missing:
        raise RuntimeError(f"missing X tools: {', '.join(missing)} (apt-get install xvfb openbox ...)")
    with ExitStack() as stack:
        if log_dir is None:
            log_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sd-x-")))
        xvfb, name = _start_xvfb(log_dir, size, 20.0)
        session = XSession(name, log_dir, server=xvfb, size=size)
        try:
            if wm:
                session.start_wm()
            if tray:
                session.start_tray()
            yield session
        finally:
            for proc in reversed(session.procs):
                terminate(proc)
                if proc.stdout is not None:
                    proc.stdout.close()
            if session.server is not None:
                terminate(session.server)


def _serve_window(title: str, with_pid: bool = True, host: str = "") -> None:
    """The test window's process: a focusable top-level window that says whose it is."""
    d = Display()
    screen = d.screen()
    win = screen.root.create_window(
        0, 0, 200, 100, 0, screen.root_depth, background_pixel=screen.white_pixel,
        event_mask=X.ExposureMask | X.FocusChangeMask | X.StructureNotifyMask,
    )  # fmt: skip
    win.set_wm_name(title)
    win.set_wm_class(title, "SmoothDeskTest")
    win.set_wm_hints(flags=1, input=1)  # InputHint: the WM may give us focus
    if with_pid:
        win.change_property(d.intern_atom("_NET_WM_PID"), Xatom.CARDINAL, 32, [os.getpid()])
    machine = host or socket.gethostname()
    win.change_property(Xatom.WM_CLIENT_MACHINE, Xatom.STRING, 8, machine.encode())
    win.change_property(d.intern_atom("WM_PROTOCOLS"), Xatom.ATOM, 32, [d.intern_atom("WM_DELETE_WINDOW")])
    win.map()
    d.sync()
    print(win.id, flush=True)
    while True:
        d.next_event()


if __name__ == "__main__":
    if len(sys.argv) in (3, 5) and sys.argv[1] == "window":
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        _serve_window(sys.argv[2], sys.argv[3:4] != ["0"], "".join(sys.argv[4:5]))
    else:
        sys.exit("usage: python -m tests.support.xsession window TITLE [1|0 (with _NET_WM_PID) HOST]")
