"""Input idle time: the session's IdleMonitor or ScreenSaver on D-Bus, else the X screensaver extension."""

from __future__ import annotations

import contextlib
import logging
from typing import Protocol

from dbus_fast import Message, MessageType
from dbus_fast.aio import MessageBus
from Xlib.error import ConnectionClosedError

from smoothdesk.agent.focus_x11 import open_display

log = logging.getLogger(__name__)

# (bus name, object, interface, method, divisor to seconds)
SESSION_SOURCES = (
    ("org.gnome.Mutter.IdleMonitor", "/org/gnome/Mutter/IdleMonitor/Core", "org.gnome.Mutter.IdleMonitor",
     "GetIdletime", 1000.0),
    ("org.freedesktop.ScreenSaver", "/org/freedesktop/ScreenSaver", "org.freedesktop.ScreenSaver",
     "GetSessionIdleTime", 1000.0),
)  # fmt: skip


class IdleSource(Protocol):
    name: str

    async def seconds(self) -> float: ...

    def close(self) -> None: ...


class SessionBusIdle:
    """One of the desktop's idle services on the session bus (both answer in milliseconds)."""

    def __init__(self, bus: MessageBus, spec: tuple[str, str, str, str, float]) -> None:
        self.bus = bus
        self.spec = spec
        self.name = spec[0]

    async def seconds(self) -> float:
        service, path, interface, method, divisor = self.spec
        reply = await self.bus.call(
            Message(destination=service, path=path, interface=interface, member=method)
        )
        if reply is None or reply.message_type != MessageType.METHOD_RETURN:
            raise OSError(f"{service}.{method} failed: {reply.body if reply else 'no reply'}")
        return float(reply.body[0]) / divisor

    def close(self) -> None:
        self.bus.disconnect()


class XScreenSaverIdle:
    """MIT-SCREEN-SAVER's idle time: milliseconds since the last input the X server saw."""

    name = "X screensaver extension"

    def __init__(self, display: str | None = None) -> None:
        self.display = open_display(display)
        if not self.display.has_extension("MIT-SCREEN-SAVER"):
            self.display.close()
            raise OSError("the X server has no MIT-SCREEN-SAVER extension")

    async def seconds(self) -> float:
        info = self.display.screen().root.screensaver_query_info()
        return float(info.idle) / 1000.0

    def close(self) -> None:
        # Closing flushes: on a server that went away that raises, and there is nothing to flush.
        with contextlib.suppress(ConnectionClosedError, OSError):
            self.display.close()


async def open_idle_source(session_bus: MessageBus | None, display: str | None) -> IdleSource | str:
    """The first source that answers, or a string saying why none does."""
    reasons = []
    if session_bus is not None:
        for spec in SESSION_SOURCES:
            source = SessionBusIdle(session_bus, spec)
            try:
                await source.seconds()
                return source
            except OSError as exc:
                reasons.append(str(exc))
        session_bus.disconnect()
    else:
        reasons.append("no session bus")
    if display:
        try:
            return XScreenSaverIdle(display)
        except Exception as exc:  # python-xlib raises plain Exception subclasses
            reasons.append(f"X display {display!r}: {exc}")
    else:
        reasons.append("no X display")
    return "no idle source: " + "; ".join(reasons)
