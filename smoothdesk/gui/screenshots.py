"""`smoothdesk --screenshot-dir DIR`: PNGs of the screen, the tray icon and each window, for the README."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QRect, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QTreeView, QWidget

from smoothdesk.gui.tray import WINDOWS

if TYPE_CHECKING:
    from smoothdesk.gui.shell import TrayApp

FILL_MS = 4000  # long enough for a few Metrics samples and the first ListApps
TRAY_MARGIN, TRAY_WIDTH, TRAY_SCALE = 8, 160, 3
FILE_NAMES = {"dashboard": "dashboard.png", "apps": "applications.png", "rules": "rules.png"}


def capture(app: TrayApp, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    shot = QGuiApplication.primaryScreen().grabWindow(0)
    icon = app.tray.icon.geometry()
    if icon.width() > 0:
        area = icon.adjusted(-TRAY_WIDTH, -TRAY_MARGIN, TRAY_MARGIN, TRAY_MARGIN)
        tray = shot.copy(area.intersected(QRect(0, 0, shot.width(), shot.height())))
        # Scaled up: a 22-pixel icon is too small to see in a README.
        tray = tray.scaled(tray.width() * TRAY_SCALE, tray.height() * TRAY_SCALE)
        _save(tray.save(str(directory / "tray.png")), directory / "tray.png")
    opened = {name: app.tray.open_window(name) for name in WINDOWS}
    QTimer.singleShot(FILL_MS, lambda: _grab_windows(app, directory, opened))


def _grab_windows(app: TrayApp, directory: Path, opened: dict[str, QWidget | None]) -> None:
    screen = QGuiApplication.primaryScreen().grabWindow(0)
    _save(screen.save(str(directory / "screen.png")), directory / "screen.png")
    for name, window in opened.items():
        if window is None:
            print(
                f"smoothdesk: the {name} window is missing or failed to open; no screenshot", file=sys.stderr
            )
            continue
        path = directory / FILE_NAMES[name]
        tree = getattr(window, "table", None)
        if isinstance(tree, QTreeView):  # show apps with the processes classed apart from them
            tree.expandAll()
            tree.doItemsLayout()
        _save(window.grab().save(str(path)), path)
        window.close()
    app.quit()


def _save(ok: bool, path: Path) -> None:
    print(f"smoothdesk: {'saved' if ok else 'could not save'} {path}", file=sys.stderr, flush=True)
