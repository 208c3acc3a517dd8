"""The rule editor: one field per matcher, validated as you type, errors in red by the field."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from smoothdesk.core.classes import PriorityClass
from smoothdesk.core.matchers import MATCHER_KEYS
from smoothdesk.dbus import errors, rulecheck

TEXT_FIELDS = (*MATCHER_KEYS, "type")
HINTS = {
    "name": "executable base name or comm, exact",
    "exe": "full path of the executable; glob allowed",
    "cmdline": "regular expression searched in the command line",
    "cgroup": "cgroup path glob",
    "unit": "systemd unit glob",
    "parent": "name of the direct parent",
    "ancestor": "name of any ancestor",
    "type": "a rule type, e.g. compiler, indexer",
}
ERROR_STYLE = "color:#b00020;"


def validate(draft: dict[str, str]) -> dict[str, str]:
    """Problems by field ("rule" for the whole), checked as the helper's AddRule checks them."""
    problems: dict[str, str] = {}
    for key, value in draft.items():
        try:
            rulecheck.check_text(value, key)
            if key == "cmdline":
                rulecheck.check_regex(value, key)
            if key == "class":
                PriorityClass.parse(value)
        except errors.InvalidArgument as exc:
            problems[key] = str(exc).split(": ", 1)[-1]
        except ValueError as exc:
            problems[key] = str(exc)
    if not problems:
        try:
            rulecheck.check_rule(draft)
        except errors.InvalidArgument as exc:
            problems[exc.argument] = str(exc).split(": ", 1)[-1]
    return problems


class RuleForm(QWidget):
    """Emits `changed` on every edit; `errors` holds the current problems by field."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.edits: dict[str, QLineEdit] = {}
        self.error_labels: dict[str, QLabel] = {}
        self.errors: dict[str, str] = {}
        form = QFormLayout()
        for key in TEXT_FIELDS:
            edit = QLineEdit(placeholderText=HINTS[key])
            edit.setAccessibleName(f"Rule {key}")
            edit.setAccessibleDescription(HINTS[key])
            edit.textChanged.connect(self._revalidate)
            self.edits[key] = edit
            form.addRow(key, self._with_error(key, edit))
        self.klass = QComboBox()
        self.klass.setAccessibleName("Rule class")
        self.klass.addItem("(from the type)", "")
        for k in PriorityClass:
            self.klass.addItem(k.value, k.value)
        self.klass.currentIndexChanged.connect(self._revalidate)
        form.addRow("class", self._with_error("class", self.klass))
        self.rule_error = QLabel()
        self.rule_error.setStyleSheet(ERROR_STYLE)
        self.rule_error.setWordWrap(True)
        self.error_labels["rule"] = self.rule_error
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(form)
        layout.addWidget(self.rule_error)

    def _with_error(self, key: str, widget: QWidget) -> QWidget:
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(1)
        column.addWidget(widget)
        label = QLabel()
        label.setStyleSheet(ERROR_STYLE)
        label.setWordWrap(True)
        label.setVisible(False)
        column.addWidget(label)
        self.error_labels[key] = label
        return box

    def draft(self) -> dict[str, str]:
        out = {k: e.text().strip() for k, e in self.edits.items() if e.text().strip()}
        if self.klass.currentData():
            out["class"] = str(self.klass.currentData())
        return out

    def load(self, rule: dict[str, object]) -> None:
        for key, edit in self.edits.items():
            edit.setText(str(rule.get(key, "") or ""))
        self.klass.setCurrentIndex(max(0, self.klass.findData(str(rule.get("class", "")))))

    def clear(self) -> None:
        self.load({})

    @property
    def valid(self) -> bool:
        return not self.errors

    def _revalidate(self) -> None:
        draft = self.draft()
        self.errors = validate(draft) if draft else {"rule": "empty: fill in a matcher and a class or type"}
        for key, label in self.error_labels.items():
            text = self.errors.get(key, "")
            label.setText(f"{key}: {text}" if text else "")
            label.setVisible(bool(text))
        self.changed.emit()
