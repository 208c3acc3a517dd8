"""Debian 12's KWin 5.27 (kwin_wayland --virtual --xwayland) for tests, with the SmoothDesk script.

    with kwinsession() as k:            # the script installed by the product's installer
        one = k.foot("sd-one")          # native Wayland window
        x = k.x_window("sd-x")          # XWayland window
        k.activate(x.pid)               # a one-shot script through KWin's scripting D-Bus

Debian ships kwin_wayland with the file capability cap_sys_resource; this machine's capability
bounding set lacks CAP_SYS_RESOURCE, so executing it fails with EPERM ("Operation not
permitted"). The fixture runs a copy without the capability (it only raises RLIMIT_NOFILE).
Runs as the calling user, root included.
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dbus_fast.aio import MessageBus

from smoothdesk.agent.focus_select import KWIN_SCRIPTING, call_method, close
from tests.support.compositor import Session, missing, session_dirs, wait
from tests.support.install_cli import install_integration

TOOLS = ("kwin_wayland", "kpackagetool5", "Xwayland", "foot", "dbus-daemon")
SOCKET = "wayland-kwin"
ACTIVATE = """\
const want = {pid};
const plasma6 = typeof workspace.windowList === "function";
for (const w of (plasma6 ? workspace.windowList() : workspace.clientList())) {{
    if (w.pid === want) {{
        if (plasma6)
            workspace.activeWindow = w;
        else
            workspace.activeClient = w;
    }}
}}
"""


def missing_tools() -> list[str]:
    """Debian packages kwin-wayland, kpackagetool5, xwayland and foot."""
    return missing(*TOOLS)


def scripting(address: str, member: str, sig: str = "", *args: Any) -> list[Any]:
    async def go() -> list[Any]:
        bus = await MessageBus(bus_address=address).connect()
        try:
            return await call_method(bus, KWIN_SCRIPTING, member, sig, *args)
        except LookupError as exc:
            raise RuntimeError(f"KWin scripting {member}: {exc}") from None
        finally:
            await close(bus)

    return asyncio.run(go())


class KWinSession(Session):
    _serial = itertools.count()

    @property
    def bus(self) -> str:
        return self.env["DBUS_SESSION_BUS_ADDRESS"]

    def run_script(self, source: str) -> None:
        """Load, run and unload a one-shot script, as `plasma-interactiveconsole --kwin` would."""
        name = f"sd-test-{next(self._serial)}"
        path = self.root / f"{name}.js"
        path.write_text(source)
        scripting(self.bus, "loadScript", "ss", str(path), name)
        scripting(self.bus, "start")
        scripting(self.bus, "unloadScript", "s", name)

    def activate(self, pid: int) -> None:
        self.run_script(ACTIVATE.format(pid=int(pid)))

    def script_loaded(self, name: str) -> bool:
        return bool(scripting(self.bus, "isScriptLoaded", "s", name)[0])


def _xwayland_display(pid: int) -> str | None:
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().split(b"\0")
            ppid = int((cmdline.parent / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid and args and args[0].endswith(b"Xwayland") and len(args) > 1:
            return args[1].decode()
    return None


@contextmanager
def kwinsession(timeout: float = 60.0, *, install: bool = True) -> Iterator[KWinSession]:
    """kwin_wayland --virtual --xwayland; install=True runs the product's KWin installer in it."""
    absent = missing_tools()
    if absent:
        raise RuntimeError(f"missing tools: {', '.join(absent)} (apt-get install kwin-wayland xwayland foot)")
    with session_dirs("sd-kwin-") as (root, env, _stack):
        env["XDG_CURRENT_DESKTOP"] = "KDE"
        binary = root / "kwin_wayland"
        shutil.copyfile(shutil.which("kwin_wayland") or "kwin_wayland", binary)  # no xattrs: no capability
        binary.chmod(0o755)
        # A test activates windows from a script, with no user input KWin could date: its focus
        # stealing prevention would sometimes keep the old window active.
        rc = Path(env["XDG_CONFIG_HOME"]) / "kwinrc"
        rc.parent.mkdir(parents=True, exist_ok=True)
        rc.write_text("[Windows]\nFocusStealingPreventionLevel=0\n")
        log = root / "kwin.log"
        session = KWinSession(root, env, log)

        with log.open("ab") as out:
            session.proc = subprocess.Popen(
                [str(binary), "--virtual", "--xwayland", "--socket", SOCKET, "--width", "1024"],
                env=env, stdout=out, stderr=out,
            )  # fmt: skip
        try:

            def ready() -> str | None:
                session.alive()
                if not (Path(env["XDG_RUNTIME_DIR"]) / SOCKET).exists():
                    return None
                try:
                    scripting(env["DBUS_SESSION_BUS_ADDRESS"], "isScriptLoaded", "s", "none")
                except RuntimeError:
                    return None
                assert session.proc is not None
                return _xwayland_display(session.proc.pid)

            try:
                display = wait(ready, timeout, "KWin with XWayland", interval=0.2)
            except RuntimeError as exc:
                raise RuntimeError(f"{exc}; KWin's log ends:\n{session.log_text()[-3000:]}") from None
            session.env.update(WAYLAND_DISPLAY=SOCKET, DISPLAY=display)
            if install:
                out = install_integration(session.env)
                assert "loaded" in out and "into the running KWin" in out, out
            yield session
        finally:
            session.stop()
