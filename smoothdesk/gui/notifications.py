"""The helper's alerts as desktop notifications: rate-limited, with a remembered "Don't show again"."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from dbus_fast import Message, MessageType, Variant
from dbus_fast.aio import MessageBus
from PySide6.QtCore import QObject, Qt, Signal, Slot

from smoothdesk.dbus.client import connect
from smoothdesk.dbus.errors import BusError
from smoothdesk.gui import alert_text
from smoothdesk.gui.apps_model import display_name
from smoothdesk.gui.connection import bus_daemon
from smoothdesk.gui.desktop_entries import DesktopEntries
from smoothdesk.gui.icons import ICON_DIR
from smoothdesk.gui.prefs import Prefs, PrefsError

log = logging.getLogger(__name__)

NOTIFY = ("org.freedesktop.Notifications", "/org/freedesktop/Notifications", "org.freedesktop.Notifications")
DONT_SHOW = "dont-show"
SHOW_APPS = "show-apps"
URGENCY = {"critical": 2, "warning": 1, "resolved": 0}

Fallback = Callable[[str, str, str], None]
"""(title, body, severity): shown some other way when no notification server answers."""


def alert_kind(alert: dict[str, Any]) -> str:
    """What "Don't show again" hides: alerts about the same metric, whatever their value."""
    return str(alert.get("metric") or alert.get("id") or "alert")


class AlertGate:
    """At most one notification per kind per `per_kind` seconds and `burst` per `window` overall."""

    def __init__(
        self,
        per_kind: float = 300.0,
        burst: int = 3,
        window: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_kind, self.burst, self.window, self.clock = per_kind, burst, window, clock
        self._last: dict[str, float] = {}
        self._recent: deque[float] = deque()

    def admit(self, kind: str) -> bool:
        now = self.clock()
        while self._recent and now - self._recent[0] >= self.window:
            self._recent.popleft()
        last = self._last.get(kind)
        if (last is not None and now - last < self.per_kind) or len(self._recent) >= self.burst:
            return False
        self._last[kind] = now
        self._recent.append(now)
        return True


class Notifier(QObject):
    """Sends over org.freedesktop.Notifications on `bus` from a background thread; `shown` per alert sent."""

    shown = Signal(str)  # kind
    hidden = Signal(str)  # kind the user asked never to see again
    show_apps = Signal()  # the person clicked "Show applications"
    _post = Signal(object)

    def __init__(
        self,
        bus: str = "session",
        fallback: Fallback | None = None,
        gate: AlertGate | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.bus_spec = bus
        self.fallback = fallback
        self.gate = gate or AlertGate()
        self.entries = DesktopEntries()
        self.last_text: tuple[str, str] = ("", "")
        self._ids: dict[int, str] = {}
        self._server = ""
        self._connecting: asyncio.Lock
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._bus: MessageBus | None = None
        self._post.connect(self._run_posted, Qt.ConnectionType.QueuedConnection)

    def start(self) -> None:
        ready = threading.Event()
        self._thread = threading.Thread(target=self._main, args=(ready,), name="notifier", daemon=True)
        self._thread.start()
        ready.wait(5)

    def stop(self) -> None:
        loop = self._loop
        if loop is not None and self._thread is not None:
            asyncio.run_coroutine_threadsafe(self._close(), loop).add_done_callback(
                lambda _: loop.call_soon_threadsafe(loop.stop)
            )
            self._thread.join(5)
        self._thread = None

    def notify(self, alert: dict[str, Any], apps: list[dict[str, Any]] | None = None) -> bool:
        """Show `alert` unless switched off, hidden for its kind, or over the rate limit; `apps`
        (ListApps) names the app to blame."""
        try:
            prefs = Prefs.load()
        except PrefsError as exc:
            log.warning("%s; notifications use the defaults", exc)
            prefs = Prefs()
        kind = alert_kind(alert)
        if not prefs.notifications or kind in prefs.hidden_alerts or not self.gate.admit(kind):
            return False
        severity = str(alert.get("severity", "warning"))
        title = alert_text.headline(alert)
        body = alert_text.body(alert, apps or [], lambda a: display_name(dict(a), self.entries.lookup(a)))
        self.last_text = (title, body)
        if self._loop is None:
            self._fall_back(title, body, severity, kind)
        else:
            asyncio.run_coroutine_threadsafe(self._send(title, body, severity, kind), self._loop)
        return True

    def hide_kind(self, kind: str) -> None:
        prefs = Prefs.load()
        if kind not in prefs.hidden_alerts:
            prefs.hidden_alerts.append(kind)
            prefs.save()
        self.hidden.emit(kind)

    @Slot(object)
    def _run_posted(self, fn: Callable[[], None]) -> None:
        fn()

    def _fall_back(self, title: str, body: str, severity: str, kind: str) -> None:
        if self.fallback is not None:
            self.fallback(title, body, severity)
        self.shown.emit(kind)

    # background thread

    def _main(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._connecting = asyncio.Lock()
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()
            self._loop = None

    async def _close(self) -> None:
        bus, self._bus = self._bus, None
        if bus is not None and bus.connected:
            bus.disconnect()
            await bus.wait_for_disconnect()  # type: ignore[no-untyped-call]

    async def _connection(self) -> MessageBus:
        async with self._connecting:  # a burst of alerts shares one connection
            return await self._connect_once()

    async def _connect_once(self) -> MessageBus:
        if self._bus is None or not self._bus.connected:
            bus = await connect(self.bus_spec)
            bus.add_message_handler(self._on_message)
            rule = f"type='signal',interface='{NOTIFY[2]}',member='ActionInvoked'"
            await bus_daemon(bus, "AddMatch", "s", rule)
            self._bus = bus
        return self._bus

    async def _send(self, title: str, body: str, severity: str, kind: str) -> None:
        icon = ICON_DIR / ("critical.svg" if severity == "critical" else "warning.svg")
        hints = {
            "urgency": Variant("y", URGENCY.get(severity, 1)),
            "desktop-entry": Variant("s", "smoothdesk"),
        }
        try:
            bus = await self._connection()
            reply = await bus.call(
                Message(
                    destination=NOTIFY[0],
                    path=NOTIFY[1],
                    interface=NOTIFY[2],
                    member="Notify",
                    signature="susssasa{sv}i",
                    body=[
                        "SmoothDesk",
                        0,
                        str(icon),
                        title,
                        body,
                        [SHOW_APPS, "Show applications", DONT_SHOW, "Don't show again"],
                        hints,
                        -1,
                    ],
                )
            )
            if reply is None or reply.message_type != MessageType.METHOD_RETURN:
                raise BusError(str(reply.body[0]) if reply and reply.body else "no notification server")
        except (BusError, OSError) as exc:
            log.info("desktop notifications unavailable (%s); using the tray", exc)
            self._post.emit(lambda: self._fall_back(title, body, severity, kind))
            return
        self._server = reply.sender or ""
        self._ids[int(reply.body[0])] = kind
        self._post.emit(lambda: self.shown.emit(kind))

    def _on_message(self, msg: Message) -> None:
        if msg.message_type != MessageType.SIGNAL or msg.member != "ActionInvoked" or len(msg.body) != 2:
            return
        # Only the server that took our notification may act on it.
        if msg.sender != self._server:
            return
        kind = self._ids.get(int(msg.body[0]))
        if kind is not None and msg.body[1] == DONT_SHOW:
            self._post.emit(lambda: self.hide_kind(kind))
        elif kind is not None and msg.body[1] == SHOW_APPS:
            self._post.emit(self.show_apps.emit)
