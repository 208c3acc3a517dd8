"""The XDG autostart entry ($XDG_CONFIG_HOME/autostart/smoothdesk.desktop) that starts the tray on login."""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path

from smoothdesk.gui.prefs import config_home

FILE_NAME = "smoothdesk.desktop"

ENTRY = """[Desktop Entry]
Type=Application
Name=SmoothDesk
GenericName=Desktop responsiveness
Comment=Keeps the desktop responsive under load
Exec={exec}
Icon=smoothdesk
Terminal=false
Categories=System;Monitor;
X-GNOME-Autostart-enabled=true
X-GNOME-Autostart-Delay=2
"""


def entry_path() -> Path:
    return config_home() / "autostart" / FILE_NAME


def exec_line(bus: str = "auto") -> str:
    """The installed `smoothdesk` next to this interpreter (a venv), else the one on PATH."""
    beside = Path(sys.executable).parent / "smoothdesk"
    program = str(beside) if beside.is_file() else shutil.which("smoothdesk") or "smoothdesk"
    args = [program] if bus == "auto" else [program, "--bus", bus]
    # The Desktop Entry spec reserves % for field codes; a literal one is written %%.
    return " ".join(shlex.quote(a) for a in args).replace("%", "%%")


def is_enabled() -> bool:
    path = entry_path()
    if not path.is_file():
        return False
    text = path.read_text(encoding="utf-8", errors="replace")
    return "Hidden=true" not in text and "X-GNOME-Autostart-enabled=false" not in text


def set_enabled(enabled: bool, bus: str = "auto") -> Path:
    path = entry_path()
    if enabled:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(ENTRY.format(exec=exec_line(bus)), encoding="utf-8")
    else:
        path.unlink(missing_ok=True)
    return path
