"""Which focus source the agent uses here: sway IPC, X11 EWMH, the GNOME Shell extension, the KWin script.

Order: sway's IPC when $SWAYSOCK answers; X11 EWMH outside Wayland; under Wayland the
compositor's own report when GNOME Shell or KWin is on the session bus (or the desktop says it
is one of them); otherwise "unknown" with the reason. `why` for a compositor source says what
the person must do while the compositor has not reported yet (install or enable the integration).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dbus_fast import Message, MessageType
from dbus_fast.aio import MessageBus

from smoothdesk.agent.focus_shell import GNOME, KWIN, Compositor, CompositorFocus
from smoothdesk.agent.focus_sway import SwayFocus
from smoothdesk.agent.focus_wayland import focus_source, is_wayland
from smoothdesk.agent.focus_x11 import X11Focus
from smoothdesk.agent.state import Focus
from smoothdesk.agent.watcher import SupervisedWatcher

EXTENSION_UUID = "smoothdesk-focus@smoothdesk.org"
KWIN_SCRIPT = "smoothdesk-focus"
INSTALL_HINT = "run `smoothdesk --agent-only --install-integration`"
# GNOME Shell's ExtensionState: 1 is ENABLED (ACTIVE from 45 on) in every version we support.
EXTENSION_STATES = {1: "enabled", 2: "disabled", 3: "in error", 4: "out of date", 6: "not enabled"}


@dataclass(frozen=True, slots=True)
class FocusChoice:
    source: str  # "sway", "x11", "gnome-shell", "kwin" or "unknown"
    why: str = ""  # unknown: why; compositor: what the focus says until its first report
    compositor: Compositor | None = None
    ready: bool = False  # compositor: the extension or script is running now

    def describe(self) -> str:
        """One line for doctor and the tray."""
        names = {
            "sway": "sway IPC", "x11": "X11 (EWMH _NET_ACTIVE_WINDOW)",
            "gnome-shell": "the SmoothDesk GNOME Shell extension", "kwin": "the SmoothDesk KWin script",
        }  # fmt: skip
        if self.source == "unknown":
            return f"focus unknown: {self.why}"
        if self.compositor is not None and not self.ready:
            return f"{names[self.source]} (not running: {self.why})"
        return names[self.source]


Target = tuple[str, str, str]  # bus name, object path, interface
DBUS: Target = ("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus")
GNOME_EXTENSIONS: Target = (GNOME.bus_name, "/org/gnome/Shell", "org.gnome.Shell.Extensions")
KWIN_SCRIPTING: Target = (KWIN.bus_name, "/Scripting", "org.kde.kwin.Scripting")


async def call_method(
    bus: MessageBus, target: Target, member: str, sig: str = "", *args: object
) -> list[Any]:
    """The reply's body; LookupError with the error's text when the call fails."""
    dest, path, iface = target
    msg = Message(destination=dest, path=path, interface=iface, member=member, signature=sig, body=list(args))
    reply = await bus.call(msg)
    if reply is None or reply.message_type != MessageType.METHOD_RETURN:
        raise LookupError(reply.body[0] if reply is not None and reply.body else f"{member} failed")
    return list(reply.body)


async def close(bus: MessageBus) -> None:
    """Disconnect and wait until the socket is closed (else asyncio.run leaves it open)."""
    bus.disconnect()
    with contextlib.suppress(Exception):
        await bus.wait_for_disconnect()  # type: ignore[no-untyped-call]


async def _owner(bus: MessageBus, name: str) -> str:
    try:
        found = await call_method(bus, DBUS, "GetNameOwner", "s", name)
    except LookupError:
        return ""
    return str(found[0])


async def gnome_extension_state(bus: MessageBus) -> tuple[bool, str]:
    """(running, what to do) for the SmoothDesk extension in the running GNOME Shell."""
    try:
        found = await call_method(bus, GNOME_EXTENSIONS, "GetExtensionInfo", "s", EXTENSION_UUID)
    except LookupError as exc:
        return False, f"GNOME Shell cannot tell whether the SmoothDesk extension runs ({exc})"
    info = found[0]
    if not info:
        hint = f"{INSTALL_HINT}, then log out and in"
        return False, f"the SmoothDesk GNOME Shell extension is not installed: {hint}"
    state = int(info["state"].value) if "state" in info else 0
    if state == 1:
        return True, ""
    error = info["error"].value if "error" in info else ""
    detail = EXTENSION_STATES.get(state, f"in state {state}") + (f": {error}" if error else "")
    return False, f"the SmoothDesk GNOME Shell extension is {detail}: {INSTALL_HINT}"


async def kwin_script_state(bus: MessageBus) -> tuple[bool, str]:
    """(running, what to do) for the SmoothDesk script in the running KWin."""
    try:
        found = await call_method(bus, KWIN_SCRIPTING, "isScriptLoaded", "s", KWIN_SCRIPT)
    except LookupError as exc:
        return False, f"KWin cannot tell whether the SmoothDesk script runs ({exc})"
    if found and found[0] is True:
        return True, ""
    return False, f"the SmoothDesk KWin script is not loaded: {INSTALL_HINT}"


async def choose_focus(env: Mapping[str, str], session_address: str | None) -> FocusChoice:
    """The focus source for this session; `session_address` None: no session bus to ask."""
    kind, why = focus_source(env)
    if kind != "unknown" or not is_wayland(env):
        return FocusChoice(kind, why)
    desktop = env.get("XDG_CURRENT_DESKTOP", "").lower()
    if not session_address:
        return FocusChoice("unknown", f"{why}; no session bus, so GNOME Shell and KWin cannot report it")
    try:
        bus = await MessageBus(bus_address=session_address).connect()
    except Exception as exc:
        return FocusChoice("unknown", f"{why}; the session bus does not answer ({exc})")
    try:
        if await _owner(bus, GNOME.bus_name) or "gnome" in desktop.split(":"):
            ready, hint = await gnome_extension_state(bus)
            return FocusChoice(GNOME.source, hint, GNOME, ready)
        if await _owner(bus, KWIN.bus_name) or "kde" in desktop.split(":"):
            ready, hint = await kwin_script_state(bus)
            return FocusChoice(KWIN.source, hint, KWIN, ready)
    finally:
        await close(bus)
    return FocusChoice("unknown", why)


def session_address(spec: str | None, env: Mapping[str, str]) -> str | None:
    """The session bus address for 'session' (from the environment), an address, or None."""
    if spec is None:
        return None
    if spec != "session":
        return spec
    if env.get("DBUS_SESSION_BUS_ADDRESS"):
        return env["DBUS_SESSION_BUS_ADDRESS"]
    runtime = env.get("XDG_RUNTIME_DIR", "")
    # libdbus's default when the variable is unset (systemd user sessions).
    if runtime and Path(runtime, "bus").exists():
        return f"unix:path={runtime}/bus"
    return None


def focus_watcher(
    choice: FocusChoice, env: Mapping[str, str], on_change: Callable[[Focus], None], address: str | None
) -> SupervisedWatcher | None:
    """The watcher for `choice`, not started; None when the focus is unknown."""
    if choice.source == "x11":
        return X11Focus(on_change, env["DISPLAY"])
    if choice.source == "sway":
        return SwayFocus(on_change, env["SWAYSOCK"])
    if choice.compositor is not None and address:
        watcher = CompositorFocus(on_change, address, choice.compositor)
        if choice.why:
            watcher.waiting = choice.why
        if choice.compositor is KWIN and choice.ready:
            from smoothdesk.agent.integration import kwin_report_now

            watcher.ready = functools.partial(kwin_report_now, env=env)
        return watcher
    return None
