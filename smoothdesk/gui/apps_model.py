"""A Qt tree model of the helper's app groups (ListApps), each expanding to its processes, and its filter."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QIcon

from smoothdesk.gui.app_names import build_title, runs_a_program, where_text
from smoothdesk.gui.desktop_entries import DesktopEntries, DesktopEntry, icon_file

COLUMNS = ("Application", "Class", "Why", "CPU %", "Memory", "IO", "Nice")
NAME, CLASS, REASONS, CPU, MEMORY, IO, NICE = range(len(COLUMNS))
ID_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_ROLE = Qt.ItemDataRole.UserRole + 2
APP_ROLE = Qt.ItemDataRole.UserRole + 3
MEMBER_ROLE = Qt.ItemDataRole.UserRole + 4
AnyIndex = QModelIndex | QPersistentModelIndex
TOP = 0  # internalId of an app row; a member row carries its app's key


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def display_name(app: dict[str, Any], entry: DesktopEntry | None) -> str:
    """The desktop entry's name; a build or script as the command the person started."""
    if entry is not None:
        return entry.name
    title = build_title(app)
    where = where_text(app)
    return f"{title} {where}" if where else title


class AppsModel(QAbstractItemModel):
    """One row per app group, keyed by group id, with one child row per process the helper
    classed on its own; `set_apps` diffs so selections and expanded rows survive a refresh."""

    def __init__(self, entries: DesktopEntries | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.entries = entries if entries is not None else DesktopEntries()
        self._rows: list[dict[str, Any]] = []
        self._keys: dict[str, int] = {}  # app id -> stable key (member rows' internalId)
        self._icons: dict[str, QIcon] = {}

    # structure

    def _key(self, app_id: str) -> int:
        return self._keys.setdefault(app_id, len(self._keys) + 1)

    def _row_of_key(self, key: int) -> int:
        return next((i for i, a in enumerate(self._rows) if self._keys.get(a["id"]) == key), -1)

    def index(self, row: int, column: int, parent: AnyIndex = QModelIndex()) -> QModelIndex:  # noqa: B008
        if parent.isValid():
            if parent.internalId() != TOP or not 0 <= parent.row() < len(self._rows):
                return QModelIndex()
            app = self._rows[parent.row()]
            if not 0 <= row < len(self.members(app)):
                return QModelIndex()
            return self.createIndex(row, column, self._key(app["id"]))
        if not 0 <= row < len(self._rows):
            return QModelIndex()
        return self.createIndex(row, column, TOP)

    def parent(self, index: AnyIndex = QModelIndex()) -> QModelIndex:  # type: ignore[override]  # noqa: B008
        if not index.isValid() or index.internalId() == TOP:
            return QModelIndex()
        row = self._row_of_key(int(index.internalId()))
        return self.createIndex(row, 0, TOP) if row >= 0 else QModelIndex()

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        if not parent.isValid():
            return len(self._rows)
        if parent.internalId() != TOP or parent.column() != 0:
            return 0
        return len(self.members(self._rows[parent.row()]))

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    @staticmethod
    def members(app: dict[str, Any]) -> list[dict[str, Any]]:
        """The processes classed apart from their app (the compilers of a build inside an editor)."""
        return list(app.get("members") or [])

    # lookups

    def app(self, row: int) -> dict[str, Any]:
        return self._rows[row]

    def app_of(self, index: AnyIndex) -> dict[str, Any] | None:
        if not index.isValid():
            return None
        if index.internalId() == TOP:
            return self._rows[index.row()]
        row = self._row_of_key(int(index.internalId()))
        return self._rows[row] if row >= 0 else None

    def row_of(self, app_id: str) -> int:
        return next((i for i, a in enumerate(self._rows) if a["id"] == app_id), -1)

    def entry(self, app: dict[str, Any]) -> DesktopEntry | None:
        return None if runs_a_program(app) else self.entries.lookup(app)

    def display_name(self, app: dict[str, Any]) -> str:
        return display_name(app, self.entry(app))

    # data

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        app = self.app_of(index)
        if app is None:
            return None
        if role == APP_ROLE:
            return app
        if role == ID_ROLE:
            return app["id"]
        if index.internalId() != TOP:
            members = self.members(app)
            member = members[index.row()] if index.row() < len(members) else {}
            return self._member_data(member, index.column(), role)
        col = index.column()
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
                command = " ".join(map(str, app.get("command") or []))
                lines = [
                    str(app["id"]),
                    *([command] if command else []),
                    *([str(entry.path)] if entry else []),
                ]
                return "\n".join(lines)
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (CPU, MEMORY, IO, NICE):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    @staticmethod
    def _member_data(member: dict[str, Any], col: int, role: int) -> Any:
        if role == MEMBER_ROLE:
            return member
        text = {
            NAME: f"{member.get('label', '?')} (pid {member.get('pid', '?')})",
            CLASS: str(member.get("class", "")),
            REASONS: str(member.get("reason", "")),
        }.get(col, "")
        if role in (Qt.ItemDataRole.DisplayRole, SORT_ROLE):
            return text if role == Qt.ItemDataRole.DisplayRole else text.lower()
        if role == Qt.ItemDataRole.ToolTipRole and col == REASONS:
            return text
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

    def icon_of(self, app: dict[str, Any]) -> QIcon | None:
        entry = self.entry(app)
        if entry is None or not entry.icon:
            return None
        if entry.icon not in self._icons:
            found = icon_file(entry.icon, self.entries.dirs)
            self._icons[entry.icon] = QIcon(str(found)) if found else QIcon.fromTheme(entry.icon)
        return self._icons[entry.icon]

    _icon = icon_of

    # updates

    def set_apps(self, apps: list[dict[str, Any]]) -> None:
        """Update rows in place, remove the gone, append the new: views keep selection and scroll."""
        fresh = {str(a["id"]): a for a in apps}
        for row in range(len(self._rows) - 1, -1, -1):
            if self._rows[row]["id"] not in fresh:
                self.beginRemoveRows(QModelIndex(), row, row)
                del self._rows[row]
                self.endRemoveRows()
        for row, old in enumerate(self._rows):
            new = fresh.pop(old["id"])
            if new != old:
                self._replace(row, old, new)
        if fresh:
            start = len(self._rows)
            self.beginInsertRows(QModelIndex(), start, start + len(fresh) - 1)
            self._rows.extend(fresh.values())
            self.endInsertRows()

    def _replace(self, row: int, old: dict[str, Any], new: dict[str, Any]) -> None:
        parent = self.index(row, 0)
        before, after = len(self.members(old)), len(self.members(new))
        if after < before:
            self.beginRemoveRows(parent, after, before - 1)
            self._rows[row] = new
            self.endRemoveRows()
        elif after > before:
            self.beginInsertRows(parent, before, after - 1)
            self._rows[row] = new
            self.endInsertRows()
        self._rows[row] = new
        last = len(COLUMNS) - 1
        self.dataChanged.emit(self.index(row, 0), self.index(row, last))
        if after:
            self.dataChanged.emit(self.index(0, 0, parent), self.index(after - 1, last, parent))


class AppsFilter(QSortFilterProxyModel):
    """Search (name, id, command, reasons; case-insensitive) and a class filter; sorts on raw numbers.
    A process row is shown with its app."""

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
        if source_parent.isValid():
            return True
        model = self.sourceModel()
        assert isinstance(model, AppsModel)
        app = model.app(source_row)
        members = model.members(app)
        if (
            self.klass
            and app.get("class") != self.klass
            and all(m.get("class") != self.klass for m in members)
        ):
            return False
        if not self.search:
            return True
        haystack = " ".join(
            [
                model.display_name(app),
                str(app.get("id", "")),
                " ".join(map(str, app.get("command") or [])),
                *map(str, app.get("reasons", [])),
                *(f"{m.get('label', '')} {m.get('reason', '')}" for m in members),
            ]
        ).lower()
        return self.search in haystack
