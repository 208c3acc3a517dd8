"""An inline message strip for windows: errors and confirmations without a blocking dialog."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QWidget

STYLES = {
    "error": "background:#fdecea; color:#8a1c12; border:1px solid #e0a39c; padding:6px;",
    "info": "background:#e8f4fd; color:#0b4f79; border:1px solid #9cc8e0; padding:6px;",
}


class Banner(QLabel):
    """Hidden until there is something to say; `kind` is "error", "info" or "" (hidden)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextInteractionFlags(self.textInteractionFlags().TextSelectableByMouse)
        self.kind = ""
        self.setVisible(False)

    def show_message(self, kind: str, text: str) -> None:
        self.kind = kind
        self.setStyleSheet(STYLES[kind])
        self.setText(text)
        self.setVisible(True)

    def error(self, text: str) -> None:
        self.show_message("error", text)

    def info(self, text: str) -> None:
        self.show_message("info", text)

    def clear_message(self) -> None:
        self.kind = ""
        self.setText("")
        self.setVisible(False)


def describe_error(name: str, message: str) -> str:
    """A helper error as a person should read it: a denial says so plainly."""
    if name.endswith("AccessDenied"):
        return f"Not allowed: {message}"
    if name.endswith("ServiceUnknown"):
        return "The SmoothDesk helper is not running."
    return message
