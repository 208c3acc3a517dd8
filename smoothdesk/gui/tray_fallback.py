"""No tray to show the icon (stock GNOME has no StatusNotifierWatcher): say so, open a window, add a launcher.

GNOME Shell shows no tray icons without the AppIndicator extension, and Qt then shows the icon
nowhere without a word. So, once per start: one desktop notification that names the extension
and its Debian package, the dashboard as an ordinary window, and a launcher entry (unless one
is installed already) so the person can open SmoothDesk again from the application grid.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

from dbus_fast import Message, MessageType, Variant
from dbus_fast.aio import MessageBus

from smoothdesk.dbus.client import connect
from smoothdesk.dbus.errors import BusError
from smoothdesk.gui.icons import ICON_DIR

log = logging.getLogger(__name__)

WATCHER = "org.kde.StatusNotifierWatcher"
PACKAGE = "gnome-shell-extension-appindicator"
SUMMARY = "SmoothDesk cannot show its tray icon"
BODY = (
    "This desktop has no tray for application icons (no StatusNotifierWatcher). On GNOME, install "
    f"and enable the AppIndicator extension (Debian: sudo apt install {PACKAGE}, then log out and "
    "in). Until then SmoothDesk opens as a window and is in the application launcher."
)
ENTRY = """\
[Desktop Entry]
Type=Application
Name=SmoothDesk
GenericName=Desktop Responsiveness
Comment=Keep the desktop responsive under load: see and change application priorities
Exec={exec}
Icon={icon}
Terminal=false
Categories=System;Monitor;
StartupNotify=false
"""
ENTRY_NAME = "smoothdesk.desktop"


async def _dbus(bus: MessageBus, member: str, arg: str) -> Message | None:
    return await bus.call(
        Message(
            destination="org.freedesktop.DBus", path="/org/freedesktop/DBus",
            interface="org.freedesktop.DBus", member=member, signature="s", body=[arg],
        )
    )  # fmt: skip


async def has_watcher(bus: MessageBus) -> bool:
    reply = await _dbus(bus, "NameHasOwner", WATCHER)
    return bool(reply is not None and reply.message_type == MessageType.METHOD_RETURN and reply.body[0])


async def notify(bus: MessageBus) -> bool:
    """The one notification; False when no notification server answers."""
    reply = await bus.call(
        Message(
            destination="org.freedesktop.Notifications", path="/org/freedesktop/Notifications",
            interface="org.freedesktop.Notifications", member="Notify", signature="susssasa{sv}i",
            body=["SmoothDesk", 0, str(ICON_DIR / "warning.svg"), SUMMARY, BODY, [],
                  {"urgency": Variant("y", 1)}, -1],
        )
    )  # fmt: skip
    return reply is not None and reply.message_type == MessageType.METHOD_RETURN


async def probe_and_notify(session_bus: str, env: Mapping[str, str], xembed: bool) -> tuple[bool, bool]:
    """(no tray can show the icon, the notification was shown)."""
    try:
        bus = await connect(session_bus)
    except BusError as exc:
        log.info("no session bus to look for a tray on (%s)", exc)
        return tray_missing(env, False, xembed), False
    try:
        if not tray_missing(env, await has_watcher(bus), xembed):
            return False, False
        return True, await notify(bus)
    finally:
        bus.disconnect()
        with contextlib.suppress(Exception):
            await bus.wait_for_disconnect()  # type: ignore[no-untyped-call]


def data_dirs(env: Mapping[str, str]) -> list[Path]:
    home = env.get("XDG_DATA_HOME") or str(Path(env.get("HOME", "~")).expanduser() / ".local/share")
    return [
        Path(home),
        *(Path(d) for d in (env.get("XDG_DATA_DIRS") or "/usr/local/share:/usr/share").split(":")),
    ]


def launcher_program() -> str:
    """The tray app's own executable: on PATH, else beside this interpreter (an unactivated venv).

    Never sys.argv[0]: under `python -m` that is a module's __main__.py, which no launcher can run.
    """
    beside = Path(sys.executable).parent / "smoothdesk"
    found = shutil.which("smoothdesk") or (str(beside) if os.access(beside, os.X_OK) else None)
    return found or f"{sys.executable} -m smoothdesk.gui.app"


def ensure_launcher(env: Mapping[str, str]) -> Path | None:
    """Write the user's launcher entry unless some data directory has one; the path written, else None."""
    dirs = data_dirs(env)
    if any((d / "applications" / ENTRY_NAME).exists() for d in dirs):
        return None
    program = launcher_program()
    target = dirs[0] / "applications" / ENTRY_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(ENTRY.format(exec=program, icon=ICON_DIR / "ok.svg"), encoding="utf-8")
    return target


def tray_missing(env: Mapping[str, str], watcher: bool, xembed: bool) -> bool:
    """In a desktop session: no StatusNotifierWatcher, and no XEmbed tray on X11 (Qt uses one).

    Outside a desktop session (no XDG_CURRENT_DESKTOP: a bare X server, a test, a screenshot run)
    there is no launcher to add to and nobody to tell.
    """
    if watcher or not env.get("XDG_CURRENT_DESKTOP"):
        return False
    wayland = env.get("XDG_SESSION_TYPE", "").lower() == "wayland" or bool(env.get("WAYLAND_DISPLAY"))
    return wayland or not xembed


def check(session_bus: str, xembed: bool, env: Mapping[str, str] | None = None) -> tuple[bool, Path | None]:
    """(the fallback is needed, the launcher entry written); sends the notification when needed."""
    env = os.environ if env is None else env
    missing, shown = asyncio.run(probe_and_notify(session_bus, env, xembed))
    if not missing:
        return False, None
    if not shown:
        log.warning("%s; %s", SUMMARY, BODY)
    return True, ensure_launcher(env)
