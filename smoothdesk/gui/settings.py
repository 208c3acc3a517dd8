"""The settings dialog: small pages with NAME, TITLE, load() and save(), as in picard's options."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from smoothdesk.dbus.client import parse_bus
from smoothdesk.gui import autostart
from smoothdesk.gui.prefs import Prefs


class SettingsPage(QWidget):
    NAME = ""
    TITLE = ""
    SAVE_ORDER = 50  # lower saves first: others may depend on what it sets

    def __init__(self, prefs: Prefs, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.prefs = prefs
        self.layout_ = QVBoxLayout(self)

    def load(self) -> None:
        raise NotImplementedError

    def save(self) -> None:
        """Apply the page to `prefs` (the dialog writes the file) or to the system; ValueError if invalid."""
        raise NotImplementedError


class AutostartPage(SettingsPage):
    NAME = "autostart"
    TITLE = "Start on login"

    def __init__(self, prefs: Prefs, parent: QWidget | None = None) -> None:
        super().__init__(prefs, parent)
        self.enabled = QCheckBox("Start SmoothDesk when I log in")
        self.where = QLabel(f"Entry: {autostart.entry_path()}")
        self.layout_.addWidget(self.enabled)
        self.layout_.addWidget(self.where)
        self.layout_.addStretch()

    def load(self) -> None:
        self.enabled.setChecked(autostart.is_enabled())

    def save(self) -> None:
        if self.enabled.isChecked() != autostart.is_enabled():
            autostart.set_enabled(self.enabled.isChecked(), self.prefs.bus)


class NotificationsPage(SettingsPage):
    NAME = "notifications"
    TITLE = "Notifications"

    def __init__(self, prefs: Prefs, parent: QWidget | None = None) -> None:
        super().__init__(prefs, parent)
        self.enabled = QCheckBox("Show the helper's alerts as desktop notifications")
        self.hidden = QListWidget()
        self.hidden.setAccessibleName("Alerts you chose not to see again")
        self.unhide = QPushButton("Show these again")
        self.unhide.clicked.connect(self.hidden.clear)
        self.layout_.addWidget(self.enabled)
        self.layout_.addWidget(QLabel("Alerts you chose not to see again:"))
        self.layout_.addWidget(self.hidden)
        self.layout_.addWidget(self.unhide)

    def load(self) -> None:
        self.enabled.setChecked(self.prefs.notifications)
        self.hidden.clear()
        self.hidden.addItems(sorted(self.prefs.hidden_alerts))

    def save(self) -> None:
        self.prefs.notifications = self.enabled.isChecked()
        self.prefs.hidden_alerts = [self.hidden.item(i).text() for i in range(self.hidden.count())]


class BusPage(SettingsPage):
    NAME = "bus"
    TITLE = "Helper connection"
    SAVE_ORDER = 0  # the autostart entry's Exec line carries the bus

    def __init__(self, prefs: Prefs, parent: QWidget | None = None) -> None:
        super().__init__(prefs, parent)
        self.bus = QLineEdit()
        self.bus.setAccessibleName("Bus of the helper")
        self.bus.setPlaceholderText("auto, system, session or a D-Bus address")
        self.layout_.addWidget(QLabel("Bus of the helper (used from the next start):"))
        self.layout_.addWidget(self.bus)
        self.layout_.addStretch()

    def load(self) -> None:
        self.bus.setText(self.prefs.bus)

    def save(self) -> None:
        value = self.bus.text().strip() or "auto"
        if value != "auto":
            parse_bus(value)  # ValueError names the argument
        self.prefs.bus = value


PAGES: tuple[type[SettingsPage], ...] = (AutostartPage, NotificationsPage, BusPage)


class SettingsDialog(QDialog):
    """A list of pages beside a stack; OK saves every page, then the preferences file."""

    saved = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("SmoothDesk settings")
        self.prefs = Prefs.load()
        self.pages = [page(self.prefs) for page in PAGES]
        self.index = QListWidget()
        self.index.setAccessibleName("Settings pages")
        self.stack = QStackedWidget()
        for page in self.pages:
            self.index.addItem(page.TITLE)
            self.stack.addWidget(page)
            page.load()
        self.index.currentRowChanged.connect(self.stack.setCurrentIndex)
        self.index.setCurrentRow(0)
        self.index.setMaximumWidth(170)
        self.error = QLabel("")
        self.error.setStyleSheet("color: #c62828")
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        body = QHBoxLayout()
        body.addWidget(self.index)
        body.addWidget(self.stack)
        outer = QVBoxLayout(self)
        outer.addLayout(body)
        outer.addWidget(self.error)
        outer.addWidget(buttons)

    def page(self, name: str) -> SettingsPage:
        return next(p for p in self.pages if name == p.NAME)

    def accept(self) -> None:
        try:
            for page in sorted(self.pages, key=lambda p: p.SAVE_ORDER):
                page.save()
            self.prefs.save()
        except (ValueError, OSError) as exc:
            self.error.setText(str(exc))
            return
        self.saved.emit()
        super().accept()
