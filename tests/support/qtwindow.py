"""`python -m tests.support.qtwindow APP_ID`: a native Wayland window (Qt's wayland platform) for tests.

KWin 5.27 --virtual never maps foot here (foot waits for a server-side decoration that KWin's
virtual session cannot load: "Could not locate decoration plugin org.kde.breeze"); Qt draws its
own decorations. The app id (xdg_toplevel app_id, KWin's desktopFileName) is APP_ID.
"""

from __future__ import annotations

import signal
import sys

from PySide6.QtWidgets import QApplication, QWidget


def main(app_id: str) -> int:
    app = QApplication([sys.argv[0], "-platform", "wayland"])
    app.setDesktopFileName(app_id)
    window = QWidget()
    window.setWindowTitle(app_id)
    window.resize(240, 120)
    window.show()
    signal.signal(signal.SIGTERM, lambda *_: app.quit())
    return app.exec()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m tests.support.qtwindow APP_ID")
    sys.exit(main(sys.argv[1]))
