"""A Qt table model of the loaded rules (ListRules), with the running apps each one matches."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt

from smoothdesk.gui.rule_match import MATCHERS, Preview, preview

COLUMNS = ("Match", "Type", "Class", "Layer", "Source", "Running apps it matches")
MATCH, TYPE, CLASS, LAYER, SOURCE, RUNNING = range(len(COLUMNS))
RULE_ROLE = Qt.ItemDataRole.UserRole + 1
AnyIndex = QModelIndex | QPersistentModelIndex
RULES_HELP = (
    "Testing compares the draft with the running apps as the helper lists them: by name and "
    "systemd unit (and exe/command line where the helper publishes them). Matchers it cannot see "
    "are named as not checked."
)


def user_config_dir() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "smoothdesk"


def source_path(rule: dict[str, Any]) -> str:
    source = str(rule.get("source", ""))
    head, _, tail = source.rpartition(":")
    return head if tail.isdigit() else source


def layer(rule: dict[str, Any], writable: set[str]) -> str:
    """ "yours" (a file AddRule writes), "ananicy" (an imported ananicy-cpp file) or "system"."""
    path = source_path(rule)
    if path in writable or path.startswith(str(user_config_dir()) + "/"):
        return "yours"
    if path.endswith((".rules", ".types", ".cgroups")):
        return "ananicy"
    return "system"


def match_text(rule: dict[str, Any]) -> str:
    return ", ".join(f"{k}={rule[k]}" for k in MATCHERS if rule.get(k)) or str(rule.get("label", "?"))


class RulesModel(QAbstractTableModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.rules: list[dict[str, Any]] = []
        self.apps: list[dict[str, Any]] = []
        self.writable: set[str] = set()
        self._previews: dict[int, Preview] = {}  # computed for the rows a view asks about

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rules)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def set_rules(self, rules: list[dict[str, Any]]) -> None:
        self.beginResetModel()
        self.rules = list(rules)
        self._previews.clear()
        self.endResetModel()

    def set_apps(self, apps: list[dict[str, Any]]) -> None:
        self.apps = list(apps)
        self._previews.clear()
        if self.rules:
            self.dataChanged.emit(self.index(0, RUNNING), self.index(len(self.rules) - 1, RUNNING))

    def preview_of(self, row: int) -> Preview:
        if row not in self._previews:
            self._previews[row] = preview(self.rules[row], self.apps)
        return self._previews[row]

    def row_of(self, rule: dict[str, Any]) -> int:
        wanted = {k: rule.get(k) for k in MATCHERS if rule.get(k)}
        for i, r in enumerate(self.rules):
            if {k: r.get(k) for k in MATCHERS if r.get(k)} == wanted:
                return i
        return -1

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        rule = self.rules[index.row()]
        col = index.column()
        if role == RULE_ROLE:
            return rule
        if role == Qt.ItemDataRole.DisplayRole:
            if col == MATCH:
                return match_text(rule)
            if col == TYPE:
                return str(rule.get("type", ""))
            if col == CLASS:
                return str(rule.get("class", ""))
            if col == LAYER:
                return layer(rule, self.writable)
            if col == SOURCE:
                return str(rule.get("source", ""))
            names = self.preview_of(index.row()).names()
            return ", ".join(names[:5]) + (f" (+{len(names) - 5})" if len(names) > 5 else "")
        if role == Qt.ItemDataRole.ToolTipRole and col == RUNNING:
            return self.preview_of(index.row()).note()
        return None
