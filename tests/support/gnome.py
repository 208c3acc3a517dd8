"""Debian 12's GNOME Shell 43, headless with a virtual monitor, XWayland on, for tests.

    with gnomesession() as g:           # the SmoothDesk extension installed with gnome-extensions
        one = g.foot("sd-one")          # native Wayland window
        x = g.x_window("sd-x")          # XWayland window
        g.activate(x.pid)               # through the test-driver extension (Eval is off in 43)

Runs as the calling user (root included: mutter does not refuse it). The SmoothDesk extension
is installed by the product's own installer (gnome-extensions install/enable) before the shell
starts, as a login after `smoothdesk --agent-only --install-integration` would find it.
"""

from __future__ import annotations

import ast
import asyncio
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dbus_fast.aio import MessageBus

from smoothdesk.agent.focus_select import GNOME_EXTENSIONS, call_method, close
from tests.support.compositor import REPO, Session, missing, session_dirs, wait, x_display
from tests.support.install_cli import install_integration

TOOLS = ("gnome-shell", "gnome-extensions", "Xwayland", "foot", "dbus-daemon")
DRIVER = "smoothdesk-test-driver@smoothdesk.org"
UUID = "smoothdesk-focus@smoothdesk.org"
DRIVER_BUS = ("org.smoothdesk.TestDriver", "/org/smoothdesk/TestDriver", "org.smoothdesk.TestDriver")


def missing_tools() -> list[str]:
    """Debian packages gnome-shell, xwayland and foot."""
    return missing(*TOOLS)


def call(address: str, target: tuple[str, str, str], member: str, sig: str = "", *args: Any) -> list[Any]:
    async def go() -> list[Any]:
        bus = await MessageBus(bus_address=address).connect()
        try:
            return await call_method(bus, target, member, sig, *args)
        except LookupError as exc:
            raise RuntimeError(f"{member}: {exc}") from None
        finally:
            await close(bus)

    return asyncio.run(go())


class GnomeSession(Session):
    @property
    def bus(self) -> str:
        return self.env["DBUS_SESSION_BUS_ADDRESS"]

    def extension_state(self, uuid: str = UUID) -> int:
        info = call(self.bus, GNOME_EXTENSIONS, "GetExtensionInfo", "s", uuid)[0]
        return int(info["state"].value) if info else 0

    def _driver(self, member: str, sig: str = "", *args: Any) -> Any:
        return call(self.bus, DRIVER_BUS, member, sig, *args)[0]

    def window_pids(self) -> list[int]:
        return list(self._driver("WindowPids"))

    def focused_pid(self) -> int:
        return int(self._driver("FocusedPid"))

    def mapped(self, win: Any, timeout: float = 30.0) -> None:
        def up() -> bool:
            self.alive()
            if win.proc.poll() is not None:
                raise RuntimeError(f"{win.app_id} exited: {(self.root / f'{win.app_id}.log').read_text()}")
            return win.pid in self.window_pids()

        wait(up, timeout, f"{win.app_id} mapped by GNOME Shell")

    def activate(self, pid: int, timeout: float = 20.0) -> None:
        """Activate the window of `pid` as a click would, and wait until the shell says so.

        Asked again each second, as a person clicks again: a window the shell lists before its
        first frame is shown may drop the first request (CI saw a 20 s wait end unfocused).
        """

        def focused() -> bool:
            if self.focused_pid() == pid:
                return True
            if time.monotonic() >= asked[0] + 1.0:
                if not self._driver("Activate", "i", pid):
                    raise RuntimeError(f"GNOME Shell has no window of pid {pid}")
                asked[0] = time.monotonic()
            return False

        asked = [float("-inf")]
        wait(focused, timeout, f"pid {pid} focused")


def _x11_socket_dir() -> None:
    """/tmp/.X11-unix as systemd-tmpfiles makes it (1777): mutter will not start Xwayland otherwise.

    On a machine without tmpfiles' x11.conf, the first Xwayland or mutter to create it leaves it
    at the umask's 1755, and every later shell then exits with "not writable".
    """
    path = Path("/tmp/.X11-unix")
    path.mkdir(exist_ok=True)
    if path.stat().st_mode & 0o1777 != 0o1777:
        if os.geteuid() != 0:
            raise RuntimeError(f"{path} is not mode 1777 and only root can fix it: chmod 1777 {path}")
        path.chmod(0o1777)


def _gsettings(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        ["gsettings", *args], env=env, capture_output=True, text=True, timeout=30, check=True
    )
    return done.stdout.strip()


@contextmanager
def gnomesession(
    timeout: float = 60.0, *, install: bool = True, before_shell: Callable[[GnomeSession], None] | None = None
) -> Iterator[GnomeSession]:
    """gnome-shell --headless with the SmoothDesk extension (install=True) and the test driver.

    `before_shell` runs once the session's buses exist but before the shell starts (an agent
    autostarted ahead of the shell at login).
    """
    absent = missing_tools()
    if absent:
        raise RuntimeError(f"missing tools: {', '.join(absent)} (apt-get install gnome-shell xwayland foot)")
    with session_dirs("sd-gnome-") as (root, env, _stack):
        env["XDG_CURRENT_DESKTOP"] = "GNOME"
        extensions = Path(env["XDG_DATA_HOME"]) / "gnome-shell/extensions"
        extensions.mkdir(parents=True)
        shutil.copytree(REPO / "tests/data/gnome-shell" / DRIVER, extensions / DRIVER)
        if install:
            # Before the shell starts: the desktop variable says GNOME, as at a login after it.
            session_out = install_integration(env)
            assert "installed and enabled the GNOME Shell extension" in session_out, session_out
        # The driver is enabled beside whatever gnome-extensions enable (the product's own) left there.
        enabled = _gsettings(env, "get", "org.gnome.shell", "enabled-extensions").removeprefix("@as ")
        listed = [*ast.literal_eval(enabled), DRIVER]
        _gsettings(env, "set", "org.gnome.shell", "enabled-extensions", str(listed))
        log = root / "gnome-shell.log"
        _x11_socket_dir()
        session = GnomeSession(root, env, log)
        if before_shell is not None:
            before_shell(session)
        with log.open("ab") as out:
            session.proc = subprocess.Popen(
                ["gnome-shell", "--headless", "--wayland", "--virtual-monitor", "1024x768"],
                env=env, stdout=out, stderr=out,
            )  # fmt: skip
        try:
            runtime = Path(env["XDG_RUNTIME_DIR"])

            def ready() -> bool:
                session.alive()
                try:
                    return session.extension_state(DRIVER) == 1 and bool(x_display(session.log_text()))
                except RuntimeError:
                    return False

            try:
                wait(ready, timeout, "GNOME Shell with the test driver", interval=0.2)
            except RuntimeError as exc:
                raise RuntimeError(f"{exc}; the shell's log ends:\n{session.log_text()[-3000:]}") from None
            display = x_display(session.log_text())
            assert display is not None
            auth = sorted(runtime.glob(".mutter-Xwaylandauth.*"))
            session.env.update(WAYLAND_DISPLAY="wayland-0", DISPLAY=display)
            if auth:
                session.env["XAUTHORITY"] = str(auth[0])
            yield session
        finally:
            session.stop()
