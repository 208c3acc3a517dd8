"""A Qt table model of the loaded rules (ListRules), one row per rule as written, and its filter.

ListRules lists one entry per process name (a rule with `name = ["cc1", "cc1plus", ...]` is one
entry per name, all with the same file and line): rows group them back into the rule a person wrote.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)

from smoothdesk.core.matchers import CONDITION_KEYS
from smoothdesk.gui.rule_match import Preview, preview

COLUMNS = ("Rule", "Matches", "Class", "Layer", "Source", "Running")
LABEL, MATCH, CLASS, LAYER, SOURCE, RUNNING = range(len(COLUMNS))
RULE_ROLE = Qt.ItemDataRole.UserRole + 1
LAYER_ROLE = Qt.ItemDataRole.UserRole + 2
AnyIndex = QModelIndex | QPersistentModelIndex
LAYERS = {"system": "System", "admin": "Admin", "user": "Yours", "ananicy": "Ananicy import"}
NAMES_SHOWN = 4
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


def short_source(rule: dict[str, Any]) -> str:
    """ "10-build.toml:8": the file's name and line; the full path goes in the tooltip."""
    source = str(rule.get("source", ""))
    head, _, tail = source.rpartition(":")
    path = head if tail.isdigit() else source
    name = Path(path).name or path
    return f"{name}:{tail}" if tail.isdigit() else name


def layer(rule: dict[str, Any], writable: set[str]) -> str:
    """ "user" (a file AddRule writes, or under ~/.config), "ananicy" (an imported ananicy-cpp file),
    "admin" (/etc/smoothdesk) or "system" (shipped with SmoothDesk)."""
    path = source_path(rule)
    if path in writable or path.startswith(str(user_config_dir()) + "/"):
        return "user"
    if path.endswith((".rules", ".types", ".cgroups")):
        return "ananicy"
    if path.startswith("/etc/"):
        return "admin"
    return "system"


def group_rules(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One dict per rule as written: the first entry's fields plus `names` and `entries`."""
    rows: dict[str, dict[str, Any]] = {}
    for entry in entries:
        source = str(entry.get("source", ""))
        others = tuple((k, str(entry.get(k))) for k in CONDITION_KEYS if entry.get(k))
        key = f"{source}\0{others}" if source.rpartition(":")[2].isdigit() else f"{source}\0{entry}"
        row = rows.get(key)
        if row is None:
            row = rows[key] = dict(entry, names=[], entries=[])
        if entry.get("name"):
            row["names"].append(str(entry["name"]))
        row["entries"].append(entry)
    return list(rows.values())


def rule_label(rule: dict[str, Any]) -> str:
    """The rule's label without the per-name suffix ListRules adds ("compiler: cc1" -> "compiler")."""
    label = str(rule.get("label") or "")
    name = str(rule.get("name") or "")
    if name and label.endswith(f": {name}"):
        label = label.removesuffix(f": {name}")
    return label or name or "?"


def match_text(rule: dict[str, Any]) -> str:
    """ "name cc1, cc1plus, cc1obj, cc1objplus +21 more; exe /usr/bin/*"."""
    parts = []
    names = rule.get("names") or ([rule["name"]] if rule.get("name") else [])
    if names:
        more = f" +{len(names) - NAMES_SHOWN} more" if len(names) > NAMES_SHOWN else ""
        parts.append(f"{'names' if len(names) > 1 else 'name'} {', '.join(names[:NAMES_SHOWN])}{more}")
    parts += [f"{k} {rule[k]}" for k in CONDITION_KEYS if rule.get(k)]
    return "; ".join(parts) or rule_label(rule)


def running_matches(rule: dict[str, Any], apps: list[dict[str, Any]]) -> list[str]:
    """The running processes the helper classed by this rule (its reasons cite the rule's file and
    line): "make -j8" counts once for the build driver and once per compiler it runs."""
    cited = f"({rule.get('source')})"
    found = []
    for app in apps:
        if any(cited in str(r) for r in app.get("reasons") or []):
            found.append(str(app.get("name", "?")))
        found += [str(m.get("label", "?")) for m in app.get("members") or [] if cited in str(m.get("reason"))]
    return found


class RulesModel(QAbstractTableModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.rules: list[dict[str, Any]] = []
        self.apps: list[dict[str, Any]] = []
        self.writable: set[str] = set()
        self.entry_count = 0  # ListRules' entries (one per name), for the window's summary
        self._running: dict[int, list[str]] = {}
        self._previews: dict[int, Preview] = {}

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
        self.entry_count = len(rules)
        self.rules = group_rules(list(rules))
        self._running.clear()
        self._previews.clear()
        self.endResetModel()

    def set_apps(self, apps: list[dict[str, Any]]) -> None:
        self.apps = list(apps)
        self._running.clear()
        self._previews.clear()
        if self.rules:
            self.dataChanged.emit(self.index(0, RUNNING), self.index(len(self.rules) - 1, RUNNING))

    def running_of(self, row: int) -> list[str]:
        if row not in self._running:
            self._running[row] = running_matches(self.rules[row], self.apps)
        return self._running[row]

    def preview_of(self, row: int) -> Preview:
        if row not in self._previews:
            self._previews[row] = preview(self.rules[row], self.apps)
        return self._previews[row]

    def row_of(self, rule: dict[str, Any]) -> int:
        """The row of the rule with these matchers (a name may be one of a rule's names)."""
        wanted = {k: rule.get(k) for k in CONDITION_KEYS if rule.get(k)}
        name = rule.get("name")
        for i, r in enumerate(self.rules):
            if {k: r.get(k) for k in CONDITION_KEYS if r.get(k)} != wanted:
                continue
            if (name in r["names"]) if name else not r["names"]:
                return i
        return -1

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        rule = self.rules[index.row()]
        col = index.column()
        if role == RULE_ROLE:
            return rule
        if role == LAYER_ROLE:
            return layer(rule, self.writable)
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(index.row(), rule, col)
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == SOURCE:
                return source_path(rule) + (f", line {rule['source'].rpartition(':')[2]}" if ":" in str(
                    rule.get("source")) else "")  # fmt: skip
            if col == MATCH:
                return "\n".join(
                    [", ".join(rule.get("names") or [])]
                    + [f"{k} = {rule[k]}" for k in CONDITION_KEYS if rule.get(k)]
                ).strip()
            if col == RUNNING:
                found = self.running_of(index.row())
                return "\n".join(found) if found else "No running process is classed by this rule."
        if role == Qt.ItemDataRole.TextAlignmentRole and col == RUNNING:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _text(self, row: int, rule: dict[str, Any], col: int) -> str:
        if col == LABEL:
            return rule_label(rule)
        if col == MATCH:
            return match_text(rule)
        if col == CLASS:
            klass = str(rule.get("class", ""))
            kind = str(rule.get("type") or "")
            return f"{klass} ({kind})" if kind and kind != klass else klass
        if col == LAYER:
            return LAYERS[layer(rule, self.writable)]
        if col == SOURCE:
            return short_source(rule)
        return str(len(self.running_of(row)))


class RulesFilter(QSortFilterProxyModel):
    """A search over label, matchers, class and file; a layer filter."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.search = ""
        self.layer = ""

    def set_search(self, text: str) -> None:
        self.beginFilterChange()
        self.search = text.strip().lower()
        self.endFilterChange()

    def set_layer(self, key: str) -> None:
        self.beginFilterChange()
        self.layer = key
        self.endFilterChange()

    def filterAcceptsRow(self, source_row: int, source_parent: AnyIndex) -> bool:
        model = self.sourceModel()
        assert isinstance(model, RulesModel)
        if self.layer and model.index(source_row, 0).data(LAYER_ROLE) != self.layer:
            return False
        if not self.search:
            return True
        rule = model.rules[source_row]
        haystack = " ".join(
            [rule_label(rule), " ".join(rule.get("names") or []), match_text(rule), str(rule.get("class")),
             str(rule.get("type") or ""), str(rule.get("source", ""))]
        ).lower()  # fmt: skip
        return self.search in haystack
