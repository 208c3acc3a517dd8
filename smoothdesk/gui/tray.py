"""The tray icon: its colour and tooltip follow the helper; its menu opens windows and pauses or resumes."""

from __future__ import annotations

import importlib
import logging
import math
import os
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QMessageBox, QSystemTrayIcon, QWidget

from smoothdesk import __version__
from smoothdesk.gui import autostart
from smoothdesk.gui.connection import HelperConnection
from smoothdesk.gui.icons import IconCache, TrayState, summary, tray_state

log = logging.getLogger(__name__)

ACCESS_DENIED = "org.freedesktop.DBus.Error.AccessDenied"

# name -> (module, class, title); imported on first use so the tray starts fast.
WINDOWS = {
    "dashboard": ("smoothdesk.gui.dashboard", "DashboardWindow", "Dashboard"),
    "apps": ("smoothdesk.gui.apps_window", "AppsWindow", "Applications"),
    "rules": ("smoothdesk.gui.rules_window", "RulesWindow", "Rules"),
}
PAUSES = (("15 minutes", 900.0), ("1 hour", 3600.0), ("Until resumed", 0.0))


class Tray(QObject):
    """Owns the QSystemTrayIcon; re-renders the icon only when the state changes."""

    state_changed = Signal(object)  # TrayState
    settings_requested = Signal()
    start_helper_requested = Signal()
    quit_requested = Signal()

    def __init__(self, connection: HelperConnection, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.conn = connection
        self.icons = IconCache()
        self.icon = QSystemTrayIcon(self)
        self.state: TrayState | None = None
        self.status: dict[str, Any] = {}
        self.focus_via: Any = None  # () -> str: the session agent's focus source, for About
        self.focus_integration: Any = None  # () -> bool: the GNOME extension / KWin script is missing
        self.sample: dict[str, Any] = {}
        self.windows: dict[str, QWidget] = {}
        self.message: QMessageBox | None = None
        self.actions: dict[str, QAction] = {}
        self.menu = self._build_menu()
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._on_activated)
        # Only while paused for a while: the helper resumes by itself and sends no signal then.
        self.pause_end = QTimer(self)
        self.pause_end.setSingleShot(True)
        self.pause_end.timeout.connect(lambda: self.conn.call("status", on_done=self._on_status))
        connection.connected.connect(self._render)
        connection.disconnected.connect(self._on_disconnected)
        connection.status.connect(self._on_status)
        connection.metrics.connect(self._on_metrics)
        self._render()

    def show(self) -> None:
        self.icon.show()

    # the menu

    def _add(self, menu: QMenu, name: str, text: str, slot: Any, checkable: bool = False) -> QAction:
        action = menu.addAction(text)
        action.setCheckable(checkable)
        action.triggered.connect(slot)
        self.actions[name] = action
        return action

    def _build_menu(self) -> QMenu:
        menu = QMenu()
        for name, (_, _, title) in WINDOWS.items():
            self._add(menu, name, title, lambda _=False, n=name: self.open_window(n))
        menu.addSeparator()
        pause = menu.addMenu("Pause")
        self.actions["pause_menu"] = pause.menuAction()
        for text, seconds in PAUSES:
            self._add(pause, f"pause_{int(seconds)}", text, lambda _=False, s=seconds: self.pause(s))
        self._add(menu, "resume", "Resume", self.resume)
        self._add(menu, "start_helper", "Start the helper in user mode…", self.start_helper_requested.emit)
        self._add(
            menu, "integration", "Install the focus integration for this desktop", self.install_integration
        )
        menu.addSeparator()
        self._add(menu, "autostart", "Start on login", self.set_autostart, checkable=True)
        self._add(menu, "settings", "Settings…", self.settings_requested.emit)
        self._add(menu, "about", "About SmoothDesk", self.about)
        menu.addSeparator()
        self._add(menu, "quit", "Quit", self.quit_requested.emit)
        menu.aboutToShow.connect(self.sync_menu)
        return menu

    def sync_menu(self) -> None:
        """Enable what makes sense now; the autostart tick follows the file (settings may change it)."""
        up = self.conn.is_connected
        paused = bool(self.status.get("paused")) and up
        self.actions["pause_menu"].setEnabled(up and not paused)
        self.actions["resume"].setEnabled(paused)
        self.actions["start_helper"].setVisible(not up)
        self.actions["integration"].setVisible(bool(self.focus_integration and self.focus_integration()))
        self.actions["autostart"].setChecked(autostart.is_enabled())

    # actions

    def open_window(self, name: str) -> QWidget | None:
        window = self.windows.get(name)
        if window is None:
            module_name, class_name, title = WINDOWS[name]
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError as exc:
                if exc.name != module_name:
                    raise
                self.tell(title, f"The {title} window is not part of this version of SmoothDesk.")
                return None
            try:
                window = getattr(module, class_name)(self.conn)
            except Exception as exc:  # a broken window must not take the tray down with it
                log.exception("cannot open the %s window", title)
                self.tell(title, f"The {title} window could not be opened: {exc}")
                return None
            self.windows[name] = window
        window.show()
        window.raise_()
        window.activateWindow()
        return window

    def pause(self, seconds: float) -> None:
        self.conn.call("pause", seconds, on_error=lambda n, m: self._denied("pause", n, m))

    def resume(self) -> None:
        self.conn.call("resume", on_error=lambda n, m: self._denied("resume", n, m))

    def set_autostart(self, enabled: bool) -> None:
        try:
            autostart.set_enabled(enabled)
        except OSError as exc:
            self.tell("Start on login", f"Could not change {autostart.entry_path()}: {exc}")
        self.actions["autostart"].setChecked(autostart.is_enabled())

    def about(self) -> None:
        helper = self.status.get("version", "not reachable") if self.conn.is_connected else "not reachable"
        mode = self.status.get("mode", "")
        self.tell(
            "About SmoothDesk",
            f"SmoothDesk {__version__}\nKeeps the desktop responsive under load.\n\n"
            f"Helper: {helper}{f' ({mode} mode)' if mode else ''} on the {self.conn.bus_spec} bus."
            + (f"\nFocus from: {self.focus_via()}." if self.focus_via is not None else ""),
            QMessageBox.Icon.Information,
        )

    def install_integration(self) -> QMessageBox:
        """What `smoothdesk --agent-only --install-integration` does, with its outcome in a box."""
        from smoothdesk.agent.integration import IntegrationError, install_integration

        title = "Focus integration"
        try:
            lines = install_integration(os.environ)
        except IntegrationError as exc:
            return self.tell(title, f"Could not install the focus integration: {exc}")
        return self.tell(title, "\n".join(lines), QMessageBox.Icon.Information)

    def tell(self, title: str, text: str, icon: QMessageBox.Icon = QMessageBox.Icon.Warning) -> QMessageBox:
        """A non-modal message box (the tray must keep running under it)."""
        box = QMessageBox(icon, title, text)
        box.setModal(False)
        box.show()
        self.message = box
        return box

    def _denied(self, what: str, name: str, message: str) -> None:
        if name == ACCESS_DENIED:
            text = f"You are not allowed to {what} SmoothDesk; nothing was changed.\n\n{message}"
        else:
            text = f"Could not {what} SmoothDesk; nothing was changed.\n\n{message}"
        self.tell(f"SmoothDesk: {what} failed", text)

    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            self.open_window("dashboard")

    # state

    def _on_status(self, status: dict[str, Any]) -> None:
        self.status = status
        left = float(status.get("paused_for", 0.0))
        if status.get("paused") and 0 < left < math.inf:
            self.pause_end.start(int(min(left, 86400.0) * 1000) + 500)
        else:
            self.pause_end.stop()
        self._render()

    def _on_metrics(self, sample: dict[str, Any]) -> None:
        self.sample = sample
        self._render()

    def _on_disconnected(self, _reason: str) -> None:
        self.sample = {}
        self.pause_end.stop()
        self._render()

    def _render(self) -> None:
        up = self.conn.is_connected
        state = tray_state(up, self.status, self.sample)
        tip = summary(state, self.status, self.sample)
        if tip != self.icon.toolTip():
            self.icon.setToolTip(tip)
        if state is not self.state:
            self.state = state
            self.icon.setIcon(self.icons.icon(state))
            self.state_changed.emit(state)
