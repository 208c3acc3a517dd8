"""Run under Xvfb with the xcb platform (test_windows_xcb): builds the windows as a desktop shows
them and prints what a person would see, as JSON, for the test to judge."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from PySide6.QtGui import QAccessible, QColor, QPalette
from PySide6.QtWidgets import QAbstractButton, QAbstractItemView, QApplication, QComboBox, QLineEdit, QWidget


def main(data_dir: str, bus: str) -> int:
    app = QApplication(sys.argv[:1])
    from smoothdesk.gui.alert_text import headline
    from smoothdesk.gui.apps_model import NAME, AppsModel
    from smoothdesk.gui.apps_window import AppsWindow
    from smoothdesk.gui.connection import HelperConnection
    from smoothdesk.gui.dashboard import DashboardWindow
    from smoothdesk.gui.desktop_entries import DesktopEntries
    from smoothdesk.gui.rules_window import RulesWindow
    from smoothdesk.telemetry.alerts import CATALOGUE

    conn = HelperConnection(bus)  # never started: nothing is called
    windows: list[QWidget] = [AppsWindow(conn, entries=DesktopEntries([])), RulesWindow(conn)]
    dark = QPalette(app.palette())
    dark.setColor(QPalette.ColorRole.Base, QColor("#1e1f22"))
    dark.setColor(QPalette.ColorRole.Text, QColor("#e8e8e8"))
    app.setPalette(dark)
    dashboard = DashboardWindow(conn)
    windows.append(dashboard)
    unnamed = []
    for window in windows:
        window.show()
        for w in window.findChildren(QWidget):
            if isinstance(w, (QAbstractButton, QLineEdit, QComboBox, QAbstractItemView)) and w.isVisibleTo(
                window
            ):
                iface = QAccessible.queryAccessibleInterface(w)
                name = iface.text(QAccessible.Text.Name) if iface is not None else ""
                if not name.strip() and not isinstance(w.parentWidget(), (QComboBox, QAbstractItemView)):
                    unnamed.append(type(w).__name__)
    app.processEvents()
    model = AppsModel(DesktopEntries([Path(data_dir)]))
    model.set_apps(
        [
            {"id": "tree:1:5", "name": "sdeditor", "kind": "tree", "command": ["sdeditor"]},
            {
                "id": "tree:1:6",
                "name": "timeout",
                "kind": "tree",
                "command": ["timeout", "60", "make", "-j8"],
            },
        ]
    )
    icon = model.index(0, NAME).data(1)
    titles = [
        headline({"metric": m, "severity": s})
        for m, *_ in CATALOGUE.values()
        for s in ("warning", "resolved")
    ]
    facts = {
        "platform": app.platformName(),
        "unnamed": unnamed,
        "plot_backgrounds": sorted({p.backgroundBrush().color().name() for p in dashboard.time_plots}),
        "plot_units": [p.unit for p in dashboard.time_plots],
        "score_labels": list(dashboard.score_plot.labels),
        "names": [model.index(i, NAME).data() for i in range(2)],
        "icon_colour": icon.pixmap(16, 16).toImage().pixelColor(8, 8).name() if icon is not None else "",
        "titles": titles,
    }
    print(json.dumps(facts), flush=True)
    for window in windows:
        window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
