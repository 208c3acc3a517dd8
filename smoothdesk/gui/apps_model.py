"""A Qt table model of the helper's app groups (ListApps), updated in place, and its filter."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QIcon

from smoothdesk.gui.desktop_entries import DesktopEntries, DesktopEntry

COLUMNS = ("Application", "Class", "Why", "CPU %", "Memory", "IO", "Nice")
NAME, CLASS, REASONS, CPU, MEMORY, IO, NICE = range(len(COLUMNS))
ID_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_ROLE = Qt.ItemDataRole.UserRole + 2
APP_ROLE = Qt.ItemDataRole.UserRole + 3
AnyIndex = QModelIndex | QPersistentModelIndex


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


class AppsModel(QAbstractTableModel):
    """One row per app group, keyed by group id; `set_apps` diffs so selections survive."""

    def __init__(self, entries: DesktopEntries | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.entries = entries if entries is not None else DesktopEntries()
        self._rows: list[dict[str, Any]] = []
        self._icons: dict[str, QIcon] = {}

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def app(self, row: int) -> dict[str, Any]:
        return self._rows[row]

    def row_of(self, app_id: str) -> int:
        return next((i for i, a in enumerate(self._rows) if a["id"] == app_id), -1)

    def entry(self, app: dict[str, Any]) -> DesktopEntry | None:
        return self.entries.lookup(app)

    def display_name(self, app: dict[str, Any]) -> str:
        entry = self.entry(app)
        name = str(app.get("name", app.get("id", "?")))
        return f"{entry.name} ({name})" if entry is not None and entry.name != name else name

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        app = self._rows[index.row()]
        col = index.column()
        if role == ID_ROLE:
            return app["id"]
        if role == APP_ROLE:
            return app
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(app, col)
        if role == SORT_ROLE:
            return self._sort_key(app, col)
        if role == Qt.ItemDataRole.DecorationRole and col == NAME:
            return self._icon(app)
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == REASONS:
                return "\n".join(app.get("reasons", []))
            if col == NAME:
                entry = self.entry(app)
                return f"{app['id']}\n{entry.path}" if entry else str(app["id"])
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (CPU, MEMORY, IO, NICE):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _text(self, app: dict[str, Any], col: int) -> str:
        if col == NAME:
            return self.display_name(app)
        if col == CLASS:
            pinned = app.get("pinned", "")
            shown = str(app.get("summary") or app.get("class", ""))
            return f"{shown} (pinned)" if pinned else shown
        if col == REASONS:
            return " ← ".join(app.get("reasons", []))
        if col == CPU:
            return f"{float(app.get('cpu', 0.0)):.1f}"
        if col == MEMORY:
            return human_bytes(float(app.get("rss", 0)))
        if col == IO:
            return human_bytes(float(app.get("io_rate", 0.0))) + "/s"
        return str(app.get("nice", 0))

    def _sort_key(self, app: dict[str, Any], col: int) -> Any:
        key = {CPU: "cpu", MEMORY: "rss", IO: "io_rate", NICE: "nice"}.get(col)
        if key is not None:
            return float(app.get(key, 0))
        return self._text(app, col).lower()

    def _icon(self, app: dict[str, Any]) -> QIcon | None:
        entry = self.entry(app)
        if entry is None or not entry.icon:
            return None
        if entry.icon not in self._icons:
            icon = QIcon(entry.icon) if entry.icon.startswith("/") else QIcon.fromTheme(entry.icon)
            self._icons[entry.icon] = icon
        return self._icons[entry.icon]

    def set_apps(self, apps: list[dict[str, Any]]) -> None:
        """Update rows in place, remove the gone, append the new: views keep selection and scroll."""
        fresh = {str(a["id"]): a for a in apps}
        for row in range(len(self._rows) - 1, -1, -1):
            if self._rows[row]["id"] not in fresh:
                self.beginRemoveRows(QModelIndex(), row, row)
                del self._rows[row]
                self.endRemoveRows()
        last = len(COLUMNS) - 1
        for row, old in enumerate(self._rows):
            new = fresh.pop(old["id"])
            if new != old:
                self._rows[row] = new
                self.dataChanged.emit(self.index(row, 0), self.index(row, last))
        if fresh:
            start = len(self._rows)
            self.beginInsertRows(QModelIndex(), start, start + len(fresh) - 1)
            self._rows.extend(fresh.values())
            self.endInsertRows()

    def update_app(self, app: dict[str, Any]) -> None:
        row = self.row_of(str(app["id"]))
        if row >= 0:
            self._rows[row] = app
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))


class AppsFilter(QSortFilterProxyModel):
    """Search (name, id, reasons; case-insensitive) and a class filter; sorts on raw numbers."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.search = ""
        self.klass = ""
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(True)

    def set_search(self, text: str) -> None:
        self.beginFilterChange()
        self.search = text.strip().lower()
        self.endFilterChange()

    def set_class(self, klass: str) -> None:
        self.beginFilterChange()
        self.klass = klass
        self.endFilterChange()

    def filterAcceptsRow(self, source_row: int, source_parent: AnyIndex) -> bool:
        model = self.sourceModel()
        assert isinstance(model, AppsModel)
        app = model.app(source_row)
        if self.klass and app.get("class") != self.klass:
            return False
        if not self.search:
            return True
        haystack = " ".join(
            [model.display_name(app), str(app.get("id", "")), *map(str, app.get("reasons", []))]
        ).lower()
        return self.search in haystack
