"""The tray app put together: connection, tray, notifications, settings, starter and session agent."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from smoothdesk.gui import full_mode
from smoothdesk.gui.connection import HelperConnection
from smoothdesk.gui.notifications import Notifier
from smoothdesk.gui.settings import SettingsDialog
from smoothdesk.gui.starter import StarterDialog
from smoothdesk.gui.tray import Tray

log = logging.getLogger(__name__)

VISIBLE_MARKER = "smoothdesk: tray icon visible"
VISIBLE_POLL_MS, VISIBLE_GIVE_UP_S = 25, 30.0


class TrayApp(QObject):
    def __init__(self, bus: str, *, agent: bool = True, notify_bus: str = "session") -> None:
        super().__init__()
        self.conn = HelperConnection(bus, self)
        self.tray = Tray(self.conn, self)
        self.notifier = Notifier(notify_bus, fallback=self._tray_message, parent=self)
        self.notify_bus = notify_bus
        self.tray_missing = False  # no tray shows the icon (stock GNOME): see tray_fallback
        self.settings: SettingsDialog | None = None
        self.starter: StarterDialog | None = None
        self.full_mode: full_mode.FullModeDialog | None = None
        self.agent: Any = None
        self.want_agent = agent
        self.offered_start = False
        self._since_start = time.monotonic()
        self._visible_poll = QTimer(self)
        self._visible_poll.timeout.connect(self._check_visible)
        self.conn.alert.connect(self._notify)
        self.notifier.show_apps.connect(lambda: self.tray.open_window("apps"))
        self.conn.connected.connect(self._alerts_in_force)
        self.conn.disconnected.connect(self._on_disconnected)
        self.tray.quit_requested.connect(self.quit)
        self.tray.settings_requested.connect(self.open_settings)
        self.tray.start_helper_requested.connect(self.offer_start)

    def start(self, offer_start: bool = True) -> None:
        self.offered_start = not offer_start
        self.tray.show()
        self._fall_back_without_tray()
        self._visible_poll.start(VISIBLE_POLL_MS)
        self.conn.start()
        self.notifier.start()
        if self.want_agent:
            self._start_agent(self.conn.bus_spec)

    def stop(self) -> None:
        self._stop_agent()
        self.conn.stop()
        self.notifier.stop()
        self.tray.icon.hide()

    def quit(self) -> None:
        self.stop()
        QApplication.quit()

    def activate(self) -> None:
        """Another start of the app: show the dashboard, as the person evidently wants to see us."""
        log.info("activated by a second start")
        self.tray.open_window("dashboard")

    def open_settings(self) -> None:
        if self.settings is None or not self.settings.isVisible():
            self.settings = SettingsDialog()
        self.settings.show()
        self.settings.raise_()

    def offer_start(self) -> StarterDialog:
        # The helper's session-bus twin: a system bus helper cannot be started from here.
        target = "session" if self.conn.bus_spec == "system" else self.conn.bus_spec
        self.starter = StarterDialog(target)
        self.starter.started.connect(lambda _pid: self._follow(target))
        self.starter.show()
        return self.starter

    def _follow(self, bus: str) -> None:
        if bus != self.conn.bus_spec:
            self.conn.switch_bus(bus)
            if self.want_agent:
                self._stop_agent()
                self._start_agent(bus)

    def _on_disconnected(self, reason: str) -> None:
        # Offer once, at start-up: a helper that goes away later is being restarted or stopped on purpose.
        if not self.offered_start and "not running" in reason:
            self.offered_start = True
            if self.conn.bus_spec == "system":  # no system helper: enable an installed one, or say how
                self.full_mode = full_mode.offer(self.offer_start, lambda: self._follow("system"))
            else:
                self.offer_start()
        self.offered_start = True

    def _alerts_in_force(self) -> None:
        # The Alert signal marks transitions; those raised before we connected come from GetAlerts.
        def show(alerts: list[dict[str, Any]]) -> None:
            for alert in alerts or []:
                if alert.get("severity") != "resolved":
                    self._notify(alert)

        self.conn.call("GetAlerts", on_done=show, on_error=lambda name, message: None)

    def _notify(self, alert: dict[str, Any]) -> None:
        """The running apps first, so that the notification can name the one to blame."""

        def named(apps: list[dict[str, Any]] | None) -> None:
            self.notifier.notify(alert, apps)

        self.conn.call("apps", on_done=named, on_error=lambda name, message: named(None))

    def _tray_message(self, title: str, body: str, severity: str) -> None:
        icon = (
            QSystemTrayIcon.MessageIcon.Critical
            if severity == "critical"
            else QSystemTrayIcon.MessageIcon.Warning
        )
        self.tray.icon.showMessage(title, body, icon, 10_000)

    def _check_visible(self) -> None:
        # Polls only until the tray host has embedded the icon (or gives up), then stops.
        geometry = self.tray.icon.geometry()
        if QSystemTrayIcon.isSystemTrayAvailable() and self.tray.icon.isVisible() and geometry.width() > 0:
            self._visible_poll.stop()
            print(f"{VISIBLE_MARKER} at {time.time():.6f}", file=sys.stderr, flush=True)
        elif time.monotonic() - self._since_start > VISIBLE_GIVE_UP_S:
            self._visible_poll.stop()

    def _fall_back_without_tray(self) -> None:
        from smoothdesk.gui import tray_fallback

        xembed = QSystemTrayIcon.isSystemTrayAvailable()
        self.tray_missing, _entry = tray_fallback.check(self.notify_bus, xembed)
        if self.tray_missing:
            self.tray.open_window("dashboard")

    def _start_agent(self, bus: str) -> None:
        try:
            from smoothdesk.agent import SessionAgent
        except ImportError as exc:
            log.warning("session agent not available (%s): focus and audio are not reported", exc)
            return
        self.agent = agent = SessionAgent(bus)
        self.agent.start()
        self.tray.focus_via = lambda: agent.state()["focus_via"]
        self.tray.focus_integration = lambda: (
            agent.focus_choice.compositor is not None and not agent.focus_choice.ready
        )

    def _stop_agent(self) -> None:
        if self.agent is not None:
            self.agent.stop()
            self.agent = None

    def screenshots(self, directory: Path, delay_ms: int = 3000) -> None:
        """Open each window once the helper has answered, save PNGs of them and of the screen, then quit."""
        from smoothdesk.gui.screenshots import capture

        QTimer.singleShot(delay_ms, lambda: capture(self, directory))
