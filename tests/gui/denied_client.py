"""Run as another user: the tray asks the helper to pause, and prints what the person would be told."""

from __future__ import annotations

import json
import os
import sys

os.environ["QT_QPA_PLATFORM"] = "offscreen"

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from smoothdesk.gui.connection import HelperConnection
from smoothdesk.gui.tray import Tray


def main(bus: str) -> int:
    app = QApplication([])
    conn = HelperConnection(bus)
    tray = Tray(conn)
    result: dict[str, object] = {}

    def check() -> None:
        if tray.message is not None:
            result["message"] = tray.message.text()
            result["state"] = tray.state.value if tray.state else None
            app.quit()

    conn.connected.connect(tray.actions["pause_900"].trigger)
    poll = QTimer()
    poll.timeout.connect(check)
    poll.start(50)
    QTimer.singleShot(30_000, app.quit)
    conn.start()
    app.exec()
    conn.stop()
    print(json.dumps(result))
    return 0 if result else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
