"""The rules window: loaded rules with their sources and matches, an editor, and ananicy import."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QProcess, Qt, QTimer
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressDialog,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from smoothdesk.core.matchers import MATCHER_KEYS
from smoothdesk.gui.banner import Banner, describe_error
from smoothdesk.gui.rule_form import RuleForm
from smoothdesk.gui.rule_match import Preview, preview
from smoothdesk.gui.rules_model import (
    CLASS,
    LABEL,
    LAYER,
    LAYERS,
    MATCH,
    RULE_ROLE,
    RULES_HELP,
    RUNNING,
    SOURCE,
    RulesFilter,
    RulesModel,
    layer,
    source_path,
)

if TYPE_CHECKING:
    from smoothdesk.gui.connection import HelperConnection

APPS_REFRESH_MS = 5000


class RulesWindow(QWidget):
    """Every change goes through the helper (AddRule, DeleteRule, ImportAnanicy), which checks
    it again and reloads; the list shows what the helper then reports."""

    def __init__(self, connection: HelperConnection, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("SmoothDesk: rules")
        self.conn = connection
        self.model = RulesModel(self)
        self.proxy = RulesFilter(self)
        self.proxy.setSourceModel(self.model)
        self.model.modelReset.connect(self._count_changed)
        self.proxy.rowsInserted.connect(self._count_changed)
        self.proxy.rowsRemoved.connect(self._count_changed)
        self.editing: dict[str, Any] | None = None
        self.last_preview: Preview | None = None
        self.progress: QProgressDialog | None = None
        self._listening = False
        self._timer = QTimer(self)
        self._timer.setInterval(APPS_REFRESH_MS)
        self._timer.timeout.connect(self.refresh_apps)

        self.search = QLineEdit(placeholderText="Search rules: label, process name, class or file")
        self.search.setAccessibleName("Search rules")
        self.search.textChanged.connect(self.proxy.set_search)
        self.layer_filter = QComboBox()
        self.layer_filter.setAccessibleName("Show only rules from this layer")
        self.layer_filter.addItem("All layers", "")
        for key, text in LAYERS.items():
            self.layer_filter.addItem(text, key)
        self.layer_filter.currentIndexChanged.connect(
            lambda i: self.proxy.set_layer(self.layer_filter.itemData(i))
        )
        self.count_label = QLabel("")
        filters = QHBoxLayout()
        filters.addWidget(self.search, 1)
        filters.addWidget(self.layer_filter)
        filters.addWidget(self.count_label)

        self.table = QTableView()
        self.table.setAccessibleName("Rules")
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(MATCH, QHeaderView.ResizeMode.Stretch)
        for col, width in ((LABEL, 150), (CLASS, 170), (LAYER, 100), (SOURCE, 150), (RUNNING, 64)):
            self.table.setColumnWidth(col, width)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 8)
        self.table.doubleClicked.connect(lambda _: self.edit_selected())
        buttons = QHBoxLayout()
        for text, slot in (
            ("New", self.new_rule),
            ("Edit", self.edit_selected),
            ("Delete", self.delete_selected),
            ("Import ananicy directory…", self.import_dialog),
        ):
            button = QPushButton(text)
            button.setAccessibleName(f"{text.rstrip('…')} rule" if text != "Import ananicy directory…" else
                                     "Import an ananicy-cpp rules directory")  # fmt: skip
            button.clicked.connect(slot)
            buttons.addWidget(button)
        buttons.addStretch(1)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addLayout(filters)
        left_layout.addWidget(self.table, 1)
        left_layout.addLayout(buttons)

        self.form = RuleForm()
        self.form.changed.connect(self._draft_changed)
        self.save_button = QPushButton("Save rule")
        self.save_button.setAccessibleName("Save rule")
        self.save_button.clicked.connect(self.save_draft)
        self.test_button = QPushButton("Test against running apps")
        self.test_button.setAccessibleName("Test the rule against running apps")
        self.test_button.clicked.connect(self.test_draft)
        self.test_result = QLabel(RULES_HELP)
        self.test_result.setWordWrap(True)
        editor = QGroupBox("Rule")
        editor_layout = QVBoxLayout(editor)
        editor_layout.addWidget(self.form)
        row = QHBoxLayout()
        row.addWidget(self.save_button)
        row.addWidget(self.test_button)
        editor_layout.addLayout(row)
        editor_layout.addWidget(self.test_result)
        editor_layout.addStretch(1)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(editor)
        split.setStretchFactor(0, 3)
        split.setSizes([900, 300])
        self.banner = Banner()
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addWidget(split, 1)
        self.resize(1280, 640)
        self.new_rule()

    # loading, only while shown

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._listening:
            self._listening = True
            self.conn.status.connect(self._status_changed)
            self._timer.start()
            self.refresh()

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        if self._listening:
            self._listening = False
            self.conn.status.disconnect(self._status_changed)
        self._timer.stop()

    def _count_changed(self, *_: Any) -> None:
        shown, total = self.proxy.rowCount(), self.model.rowCount()
        names = self.model.entry_count
        text = f"{total} rules" if shown == total else f"{shown} of {total} rules"
        self.count_label.setText(f"{text} ({names} process names)")

    def _status_changed(self, _status: dict[str, Any]) -> None:
        self.refresh()  # rules reloaded (here or by another client)

    def refresh(self) -> None:
        self.conn.call("rules", on_done=self.model.set_rules, on_error=self._failed)
        self.refresh_apps()

    def refresh_apps(self) -> None:
        self.conn.call("apps", on_done=self.model.set_apps, on_error=self._failed)

    # editing

    def selected_rule(self) -> dict[str, Any] | None:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].data(RULE_ROLE) if rows else None

    def new_rule(self) -> None:
        self.editing = None
        self.form.clear()

    def edit_selected(self) -> None:
        rule = self.selected_rule()
        if rule is None:
            self.banner.error("Select a rule to edit.")
            return
        self.editing = rule
        self.form.load(rule)
        if layer(rule, self.model.writable) != "user":
            self.banner.info(
                f"This rule comes from {source_path(rule)}. Saving writes your own rule with the same "
                "matchers, which takes precedence; the original file is left alone."
            )

    def _draft_changed(self) -> None:
        self.save_button.setEnabled(self.form.valid)

    def save_draft(self) -> None:
        draft = self.form.draft()
        if not self.form.valid:
            self.banner.error("Fix the fields marked in red first.")
            return
        old = self.editing
        self.banner.clear_message()

        def saved(source: str) -> None:
            self.model.writable.add(source)
            moved = (
                old is not None
                and _matchers(old) != _matchers(draft)
                and layer(old, self.model.writable) == "user"
            )
            if moved and old is not None:
                self.conn.call("delete_rule", _matchers(old), on_error=self._failed)
            self.editing = dict(draft, source=source)
            self.banner.info(f"Saved to {source}.")
            self.refresh()

        self.conn.call("add_rule", draft, on_done=saved, on_error=self._failed)

    def delete_selected(self) -> None:
        rule = self.selected_rule()
        if rule is None:
            self.banner.error("Select a rule to delete.")
            return

        def deleted(removed: int) -> None:
            if removed:
                self.banner.info(f"Deleted {removed} rule(s).")
                self.refresh()
            else:
                self.banner.error(
                    f"Not deleted: only rules in your own rules file can be deleted; this one is in "
                    f"{source_path(rule)}. Add a rule with the same matchers to override it."
                )

        self.conn.call("delete_rule", _matchers(rule), on_done=deleted, on_error=self._failed)

    def test_draft(self) -> None:
        """Which running apps the draft would match (see rule_match for what can be checked)."""

        def tested(apps: list[dict[str, Any]]) -> None:
            self.model.set_apps(apps)
            result = preview(self.form.draft(), apps)
            self.last_preview = result
            names = result.names()
            head = (
                f"Matches {len(names)} running app(s): {', '.join(names[:20])}"
                if names
                else "Matches no running app"
            )
            self.test_result.setText(f"{head}.\n({result.note()})")

        self.conn.call("apps", on_done=tested, on_error=self._failed)

    # ananicy import

    def import_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(
            self, "Import an ananicy-cpp rules directory", "/etc/ananicy.d"
        )
        if path:
            self.import_ananicy(path)

    def import_ananicy(self, path: str) -> None:
        self.progress = QProgressDialog(f"Importing {path}…", "", 0, 0, self)
        self.progress.setCancelButton(None)
        self.progress.setWindowModality(Qt.WindowModality.WindowModal)
        self.progress.setMinimumDuration(0)
        self.progress.show()

        def finish() -> None:
            if self.progress is not None:
                self.progress.close()
                self.progress = None

        def done(s: dict[str, Any]) -> None:
            finish()
            self.banner.info(import_summary(s))
            if int(s.get("errors", 0) or 0) + int(s.get("warnings", 0) or 0):
                self.explain_skipped(s)
            self.refresh()

        def failed(name: str, message: str) -> None:
            finish()
            self._failed(name, message)

        self.conn.call("import_ananicy", str(Path(path).absolute()), on_done=done, on_error=failed)

    def explain_skipped(self, summary: dict[str, Any]) -> None:
        """The helper's reply only counts what it skipped: `smoothdeskctl rules check` on the same
        directory says why (run aside, so the window stays responsive)."""
        proc = QProcess(self)
        self.checker = proc
        args = ["-m", "smoothdesk.cli.main", "rules", "check", "--json", "--dir", "/nonexistent"]
        args += ["--ananicy", str(summary.get("path", ""))]

        def finished(*_: Any) -> None:
            try:
                found = json.loads(bytes(proc.readAllStandardOutput().data()).decode())
                whys = [*found.get("errors", []), *found.get("warnings", [])]
            except (ValueError, AttributeError):
                whys = []
            if whys and self.banner.text().startswith(import_summary(summary)[:40]):
                self.banner.info(import_summary(summary, [str(w) for w in whys]))
            proc.deleteLater()

        proc.finished.connect(finished)
        proc.start(sys.executable, args)

    def _failed(self, name: str, message: str) -> None:
        self.banner.error(describe_error(name, message))

    def grab_screenshot(self, path: str | Path) -> bool:
        return self.grab().save(str(path), "PNG")


def import_summary(s: dict[str, Any], diagnostics: list[str] | None = None) -> str:
    """ "Imported DIR: N rules, M skipped (why)", the whys from `rules check` diagnostics
    ("/etc/ananicy.d/x.rules:2: error: malformed line") shortened to file:line: message."""
    path = str(s.get("path", ""))
    # Errors lose a rule or a file, warnings a rule (policy.rules.Severity): both are skipped.
    skipped = int(s.get("errors", 0) or 0) + int(s.get("warnings", 0) or 0)
    head = f"Imported {path}: {s.get('rules')} rules, {skipped} skipped"
    whys = []
    for d in diagnostics or []:
        where, _, what = d.partition(": ")
        what = what.removeprefix("error: ").removeprefix("warning: ")
        file, _, line = where.rpartition(":")
        whys.append(f"{Path(file).name}:{line}: {what}" if line.isdigit() else f"{Path(where).name}: {what}")
    if whys:
        more = f"; +{len(whys) - 3} more" if len(whys) > 3 else ""
        head += f" ({'; '.join(whys[:3])}{more})"
    loaded = s.get("total_rules")
    return f"{head}. {loaded} process names and patterns loaded in all, for this run of the helper."


def _matchers(rule: dict[str, Any]) -> dict[str, str]:
    return {k: str(rule[k]) for k in MATCHER_KEYS if rule.get(k)}
