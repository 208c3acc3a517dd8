"""The applications window: every app group with its class and why, and controls to change it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QPoint, Qt, QTimer
from PySide6.QtGui import QAction, QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from smoothdesk.gui import app_actions
from smoothdesk.gui.apps_model import APP_ROLE, CLASS, CPU, REASONS, AppsFilter, AppsModel
from smoothdesk.gui.banner import Banner, describe_error
from smoothdesk.gui.desktop_entries import DesktopEntries
from smoothdesk.gui.throttle import Throttle

if TYPE_CHECKING:
    from smoothdesk.gui.connection import HelperConnection

REFRESH_MS = 3000
FILTER_CLASSES = ("critical", "interactive", "normal", "background", "idle")


# An answer this late is taken as lost (a connection that went away mid-call): ask anew.
STALE_ASK_S = 10.0


class AppsWindow(QWidget):
    """Refreshes only while shown (AppsChanged, plus a slow timer for the CPU figures).
    Changes go to the helper; the table shows only what the helper reports back, so a refused
    change leaves it as it was."""

    def __init__(
        self,
        connection: HelperConnection,
        parent: QWidget | None = None,
        entries: DesktopEntries | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("SmoothDesk: applications")
        self.conn = connection
        self.model = AppsModel(entries, self)
        self.proxy = AppsFilter(self)
        self.proxy.setSourceModel(self.model)
        self.refresh_count = 0
        self._asked_at: float | None = None  # when the ListApps now awaited was sent
        self._ask_again = False
        self._listening = False
        self._refresh_soon = Throttle(self.refresh, 1000, self)
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)

        self.search = QLineEdit(placeholderText="Search name, command or reason")
        self.search.setAccessibleName("Search applications")
        self.search.textChanged.connect(self.proxy.set_search)
        self.class_filter = QComboBox()
        self.class_filter.setAccessibleName("Show only this class")
        self.class_filter.addItem("All classes", "")
        for k in FILTER_CLASSES:
            self.class_filter.addItem(k.capitalize(), k)
        self.class_filter.currentIndexChanged.connect(
            lambda i: self.proxy.set_class(self.class_filter.itemData(i))
        )
        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(self.class_filter)

        # A tree: each app expands to the processes classed apart from it, with their own class and why.
        self.table = QTreeView()
        self.table.setAccessibleName("Applications")
        self.table.setModel(self.proxy)
        self.table.setRootIsDecorated(True)
        self.table.setUniformRowHeights(True)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(CPU, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        header = self.table.header()
        header.setStretchLastSection(False)  # the reasons take the room, not the nice column
        header.setSectionResizeMode(REASONS, QHeaderView.ResizeMode.Stretch)
        self.table.setColumnWidth(0, 260)
        self.table.setColumnWidth(CLASS, 190)
        for col in (CPU, CPU + 1, CPU + 2, CPU + 3):  # CPU, memory, IO, nice: figures, not prose
            self.table.setColumnWidth(col, 80)

        self.class_choice = QComboBox()
        self.class_choice.setAccessibleName("Class for the selected application")
        for k in app_actions.CHOICES:
            self.class_choice.addItem(k.capitalize(), k)
        self.session_button = QPushButton("This session")
        self.session_button.clicked.connect(lambda: self.apply_to_selected(always=False))
        self.always_button = QPushButton("Always")
        self.session_button.setAccessibleName("Set the class for this session")
        self.always_button.setAccessibleName("Set the class always (writes a rule)")
        self.always_button.clicked.connect(lambda: self.apply_to_selected(always=True))
        actions = QHBoxLayout()
        actions.addWidget(QLabel("Class for the selected application:"))
        actions.addWidget(self.class_choice)
        actions.addWidget(self.session_button)
        actions.addWidget(self.always_button)
        actions.addStretch(1)

        self.banner = Banner()
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.banner)
        layout.addWidget(self.table, 1)
        layout.addLayout(actions)
        self.resize(1000, 600)

    # refreshing, only while shown

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._listening:
            self._listening = True
            self.conn.apps_changed.connect(self._on_apps_changed)
            self.conn.connected.connect(self.refresh)
            self._timer.start()
            self.refresh()

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        if self._listening:
            self._listening = False
            self.conn.apps_changed.disconnect(self._on_apps_changed)
            self.conn.connected.disconnect(self.refresh)
        self._timer.stop()
        self._refresh_soon.cancel()

    def _on_apps_changed(self, _ids: list[str]) -> None:
        self._refresh_soon()

    def refresh(self) -> None:
        """Ask for the apps. While an answer is awaited, a new ask is remembered, not sent: the
        helper serves each uid a bounded number of calls at once, and a window that asked faster
        than it was answered would crowd out its own clicks ("24 calls in progress")."""
        now = time.monotonic()
        if self._asked_at is not None and now - self._asked_at < STALE_ASK_S:
            self._ask_again = True
            return
        self._asked_at, self._ask_again = now, False
        self.conn.call("apps", on_done=self._apps_loaded, on_error=self._apps_failed)

    def _answered(self) -> None:
        self._asked_at = None
        if self._ask_again:
            self.refresh()

    def _apps_loaded(self, apps: list[dict[str, Any]]) -> None:
        self.refresh_count += 1
        self.model.set_apps(apps)
        self._answered()

    def _apps_failed(self, name: str, message: str) -> None:
        self._failed(name, message)
        self._answered()

    # actions

    def selected_app(self) -> dict[str, Any] | None:
        """The selected app; a selected process row stands for its app (the unit a person pins)."""
        rows = self.table.selectionModel().selectedRows()
        return rows[0].data(APP_ROLE) if rows else None

    def expand_app(self, app_id: str) -> bool:
        row = self.model.row_of(app_id)
        index = self.proxy.mapFromSource(self.model.index(row, 0)) if row >= 0 else QModelIndex()
        if index.isValid():
            self.table.expand(index)
        return index.isValid()

    def select_app(self, app_id: str) -> bool:
        """Select the row of `app_id` (for tests and "show in list"); False if it is not shown."""
        row = self.model.row_of(app_id)
        if row < 0:
            return False
        index = self.proxy.mapFromSource(self.model.index(row, 0))
        if not index.isValid():
            return False
        self._select(index)
        self.table.scrollTo(index)
        return True

    def _select(self, index: QModelIndex) -> None:
        flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        self.table.selectionModel().setCurrentIndex(index, flags)

    def apply_to_selected(self, always: bool) -> None:
        app = self.selected_app()
        if app is None:
            self.banner.error("Select an application first.")
            return
        self.apply(app, str(self.class_choice.currentData()), always)

    def apply(self, app: dict[str, Any], klass: str, always: bool) -> None:
        self.banner.clear_message()
        app_actions.change_class(self.conn, app, klass, always=always, done=self._done, failed=self._failed)

    def _done(self, text: str) -> None:
        self.banner.info(text)
        self.refresh()

    def _failed(self, name: str, message: str) -> None:
        self.banner.error(describe_error(name, message))

    def show_matching_rule(self, app: dict[str, Any]) -> None:
        def shown(rules: list[dict[str, Any]]) -> None:
            found = app_actions.matching_rules(app, rules)
            if found:
                self.banner.info("; ".join(app_actions.describe_rule(r) for r in found))
            else:
                self.banner.info(f"No rule matches {app.get('name')}: its class comes from {self._why(app)}.")

        self.conn.call("rules", on_done=shown, on_error=self._failed)

    @staticmethod
    def _why(app: dict[str, Any]) -> str:
        reasons = app.get("reasons") or ["the default"]
        return str(reasons[0]).split(":", 1)[0]

    def _context_menu(self, pos: QPoint) -> None:
        index = self.table.indexAt(pos)
        if not index.isValid():
            return
        self._select(index)
        menu = self.build_menu(index)
        menu.popup(self.table.viewport().mapToGlobal(pos))

    def build_menu(self, index: QModelIndex) -> QMenu:
        app = index.data(APP_ROLE)
        menu = QMenu(self)
        for title, always in (("This session", False), ("Always", True)):
            sub = menu.addMenu(title)
            for k in app_actions.CHOICES:
                action = QAction(k.capitalize(), sub)
                action.setCheckable(True)
                action.setChecked(k == (app.get("pinned") or "auto") if not always else False)
                action.triggered.connect(lambda _=False, k=k, a=always: self.apply(app, k, a))
                sub.addAction(action)
        menu.addSeparator()
        menu.addAction("Show matching rule", lambda: self.show_matching_rule(app))
        return menu

    def grab_screenshot(self, path: str | Path) -> bool:
        return self.grab().save(str(path), "PNG")


__all__ = ["CLASS", "AppsWindow"]
