"""When no helper answers: offer to start `smoothdesk-helper --user` on the session bus, in a dialog."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPushButton, QVBoxLayout, QWidget

from smoothdesk.gui.single_instance import socket_path

EARLY_EXIT_CHECK_MS = 2000


def helper_command(bus: str) -> list[str]:
    """The installed smoothdesk-helper beside this interpreter, else the module under it."""
    beside = Path(sys.executable).parent / "smoothdesk-helper"
    program = [str(beside)] if beside.is_file() else [sys.executable, "-m", "smoothdesk.helper.main"]
    return [*program, "--bus", bus, "--user"]


def log_path() -> Path:
    return socket_path().parent / "smoothdesk-helper.log"


class StarterDialog(QDialog):
    """Explains user mode and starts the helper on request; `started(pid)` or `failed(message)`."""

    started = Signal(int)
    failed = Signal(str)

    def __init__(
        self, bus: str = "session", extra_args: Sequence[str] = (), parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("SmoothDesk helper not running")
        self.command = [*helper_command(bus), *extra_args]
        self.process: subprocess.Popen[bytes] | None = None
        self.message = QLabel(
            "No SmoothDesk helper is running, so nothing keeps the desktop responsive.\n\n"
            "Start one now in user mode? It runs as you and can only lower the priority of your own "
            "applications. For full control, install the system service (smoothdesk-helper.service)."
        )
        self.message.setWordWrap(True)
        self.status = QLabel("")
        buttons = QDialogButtonBox()
        self.start_button = QPushButton("Start in user mode")
        self.cancel_button = QPushButton("Not now")
        buttons.addButton(self.start_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)
        self.start_button.clicked.connect(self.start_helper)
        self.cancel_button.clicked.connect(self.reject)
        layout = QVBoxLayout(self)
        for widget in (self.message, self.status, buttons):
            layout.addWidget(widget)

    def start_helper(self) -> None:
        self.start_button.setEnabled(False)
        log = log_path()
        log.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            with log.open("ab") as err:
                # Its own session: the helper outlives this app and ignores the terminal's Ctrl-C.
                self.process = subprocess.Popen(
                    self.command, stdin=subprocess.DEVNULL, stdout=err, stderr=err, start_new_session=True
                )
        except OSError as exc:
            self._fail(f"Could not start {self.command[0]}: {exc}")
            return
        self.status.setText("Starting the helper…")
        self.started.emit(self.process.pid)
        QTimer.singleShot(EARLY_EXIT_CHECK_MS, self._check_alive)
        self.accept()

    def _check_alive(self) -> None:
        if self.process is not None and (code := self.process.poll()) is not None:
            tail = log_path().read_text(errors="replace").strip().splitlines()[-3:]
            self._fail(f"The helper exited with status {code}:\n" + "\n".join(tail))

    def _fail(self, text: str) -> None:
        self.status.setText(text)
        self.start_button.setEnabled(True)
        self.failed.emit(text)
