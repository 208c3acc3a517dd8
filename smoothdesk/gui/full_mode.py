"""First run without a helper: enable the installed system helper (full mode), or say how to get one."""

from __future__ import annotations

import enum
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QProcess, Qt, Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPushButton, QVBoxLayout, QWidget

UNIT = "smoothdesk-helper.service"
# Where a package (Debian 12: /lib), `make install` (/usr/lib, /usr/local/lib) or an admin puts it.
UNIT_DIRS = (
    Path("/etc/systemd/system"),
    Path("/lib/systemd/system"),
    Path("/usr/lib/systemd/system"),
    Path("/usr/local/lib/systemd/system"),
)
ENABLE_COMMAND = ("pkexec", "systemctl", "enable", "--now", UNIT)

USER_MODE_LIMITS = (
    "In user mode the helper runs as you: it can only lower the priority of your own "
    "applications, never raise the focused one, and it cannot touch other users' processes, "
    "system services or the IO scheduling classes that need root."
)
INSTALLED_TEXT = (
    "The SmoothDesk system helper is installed but not running, so nothing keeps the desktop "
    "responsive.\n\nEnable full mode to start it now and at every boot (asks for an administrator "
    "password).\n\n" + USER_MODE_LIMITS
)
MISSING_TEXT = (
    "No SmoothDesk system helper is installed. For full mode install the package:\n"
    "    sudo apt install ./smoothdesk_<version>_<arch>.deb   (built with `make deb`)\n"
    "or, from a checkout, `sudo make install` and `sudo systemctl enable --now " + UNIT + "`.\n\n"
    "Meanwhile you can start a helper in user mode.\n\n" + USER_MODE_LIMITS
)


class SystemHelper(enum.Enum):
    INSTALLED = "installed"  # the unit exists; it is not answering on the system bus
    MISSING = "missing"


def detect(unit_dirs: Sequence[Path] | None = None) -> SystemHelper:
    """Whether the systemd unit is installed (called once the system bus showed no helper)."""
    dirs = UNIT_DIRS if unit_dirs is None else unit_dirs
    return SystemHelper.INSTALLED if any((d / UNIT).is_file() for d in dirs) else SystemHelper.MISSING


class FullModeDialog(QDialog):
    """Explains the choice; `enabled()` once the command succeeded, `user_mode()` if asked for."""

    enabled = Signal()
    user_mode = Signal()

    def __init__(
        self, state: SystemHelper, command: Sequence[str] = ENABLE_COMMAND, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.state = state
        self.command = list(command)
        self.setWindowTitle(
            "SmoothDesk: full mode" if state is SystemHelper.INSTALLED else "SmoothDesk helper"
        )
        self.message = QLabel(INSTALLED_TEXT if state is SystemHelper.INSTALLED else MISSING_TEXT)
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)  # commands to copy
        self.status = QLabel("")
        self.status.setWordWrap(True)
        buttons = QDialogButtonBox()
        self.enable_button: QPushButton | None = None
        if state is SystemHelper.INSTALLED:
            self.enable_button = QPushButton("Enable full mode")
            self.enable_button.clicked.connect(self.enable)
            buttons.addButton(self.enable_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.user_button = QPushButton("Start in user mode")
        self.user_button.clicked.connect(self._user_mode)
        buttons.addButton(self.user_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.later_button = QPushButton("Not now")
        self.later_button.clicked.connect(self.reject)
        buttons.addButton(self.later_button, QDialogButtonBox.ButtonRole.RejectRole)
        layout = QVBoxLayout(self)
        for widget in (self.message, self.status, buttons):
            layout.addWidget(widget)
        self.process: QProcess | None = None

    def enable(self) -> None:
        if shutil.which(self.command[0]) is None:
            self.status.setText(
                f"{self.command[0]} is not installed (apt install pkexec); run as root:\n"
                f"    systemctl enable --now {UNIT}"
            )
            return
        assert self.enable_button is not None
        self.enable_button.setEnabled(False)
        self.status.setText("Enabling the system helper…")
        self.process = QProcess(self)
        self.process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        self.process.finished.connect(self._finished)
        self.process.start(self.command[0], self.command[1:])

    def _finished(self, code: int, _status: QProcess.ExitStatus) -> None:
        assert self.process is not None and self.enable_button is not None
        output = bytes(self.process.readAll().data()).decode(errors="replace").strip()
        if code == 0:
            self.enabled.emit()
            self.accept()
            return
        # pkexec: 126 the password dialog was dismissed, 127 not authorized.
        reason = {126: "the authentication was cancelled", 127: "not authorized"}.get(
            code, f"exit status {code}"
        )
        self.status.setText(f"Could not enable {UNIT}: {reason}." + (f"\n{output}" if output else ""))
        self.enable_button.setEnabled(True)

    def _user_mode(self) -> None:
        self.user_mode.emit()
        self.accept()


def offer(
    start_user_mode: Callable[[], object],
    use_system_bus: Callable[[], None],
    unit_dirs: Sequence[Path] | None = None,
) -> FullModeDialog:
    """Show the first-run choice; the callers say what user mode and full mode mean to the tray."""
    dialog = FullModeDialog(detect(unit_dirs))
    dialog.enabled.connect(use_system_bus)
    dialog.user_mode.connect(start_user_mode)
    dialog.show()
    return dialog
