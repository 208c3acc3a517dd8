"""Every control of every window has a name a screen reader reads and is reachable by keyboard."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QComboBox,
    QLineEdit,
    QSpinBox,
    QWidget,
)
from pytestqt.qtbot import QtBot

from smoothdesk.gui.apps_window import AppsWindow
from smoothdesk.gui.connection import HelperConnection
from smoothdesk.gui.dashboard import DashboardWindow
from smoothdesk.gui.desktop_entries import DesktopEntries
from smoothdesk.gui.plots import TimePlot
from smoothdesk.gui.rules_window import RulesWindow
from smoothdesk.gui.settings import SettingsDialog

CONTROLS = (QAbstractButton, QLineEdit, QComboBox, QSpinBox, QAbstractItemView)


@pytest.fixture
def conn(bus_address: str) -> Iterator[HelperConnection]:
    """Never started: the windows are built and inspected, not shown, so they call nothing."""
    yield HelperConnection(bus_address)


def windows(conn: HelperConnection) -> list[QWidget]:
    return [
        AppsWindow(conn, entries=DesktopEntries([])),
        RulesWindow(conn),
        DashboardWindow(conn),
        SettingsDialog(),
    ]


def spoken_name(widget: QWidget) -> str:
    iface = QAccessible.queryAccessibleInterface(widget)
    return iface.text(QAccessible.Text.Name).strip() if iface is not None else ""


def test_every_control_has_an_accessible_name(qtbot: QtBot, conn: HelperConnection) -> None:
    missing: list[str] = []
    seen = 0
    for window in windows(conn):
        qtbot.addWidget(window)
        for widget in window.findChildren(QWidget):
            if isinstance(widget, CONTROLS) and not _internal(widget):
                seen += 1
                if not spoken_name(widget):
                    missing.append(
                        f"{type(window).__name__}: {type(widget).__name__} {widget.objectName()!r}"
                    )
    assert seen > 20
    assert missing == [], "\n".join(missing)


def test_every_control_is_reachable_by_tab(qtbot: QtBot, conn: HelperConnection) -> None:
    for window in windows(conn):
        qtbot.addWidget(window)
        for widget in window.findChildren(QWidget):
            if isinstance(widget, CONTROLS) and not _internal(widget):
                assert widget.focusPolicy() & Qt.FocusPolicy.TabFocus, (
                    type(window).__name__,
                    spoken_name(widget),
                )


def test_plots_are_named_with_their_unit(qtbot: QtBot, conn: HelperConnection) -> None:
    dashboard = DashboardWindow(conn)
    qtbot.addWidget(dashboard)
    plots = dashboard.findChildren(TimePlot)
    assert len(plots) == 6
    assert {spoken_name(p) for p in plots} >= {
        "Scheduling latency plot, ms",
        "Responsiveness score plot, score (0-100)",
    }
    assert spoken_name(dashboard.top_plot) == "Top applications' CPU"


def _internal(widget: QWidget) -> bool:
    """Parts of a composite control (a combo box's popup list, a spin box's line edit, a header)."""
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, (QComboBox, QSpinBox, QAbstractItemView)):
            return True
        parent = parent.parentWidget()
    return type(widget).__name__ in ("QHeaderView",) or widget.objectName().startswith("qt_")
