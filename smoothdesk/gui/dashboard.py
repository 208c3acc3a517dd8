"""The dashboard window: live plots of the helper's metrics, with history, hover and export."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QTimer
from PySide6.QtGui import QCloseEvent, QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from smoothdesk.gui import demotions
from smoothdesk.gui.apps_model import AppsModel
from smoothdesk.gui.plots import TimePlot
from smoothdesk.gui.series import CLASS_PREFIX, SeriesStore, flatten, wait_text
from smoothdesk.gui.throttle import Throttle
from smoothdesk.gui.top_apps import TopApps

if TYPE_CHECKING:
    from smoothdesk.gui.connection import HelperConnection

RANGES = (("1 min", 60.0), ("10 min", 600.0), ("1 h", 3600.0))
REDRAW_MS = 1000
POLL_MS = 2000
TOP_APPS = 8


class DashboardWindow(QWidget):
    """Plots redraw at most once a second, and only while shown; showing again catches up from
    the helper's history, so nothing is received or drawn while the window is hidden."""

    def __init__(self, connection: HelperConnection, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("SmoothDesk: dashboard")
        self.conn = connection
        self.store = SeriesStore()
        self.range_seconds = RANGES[0][1]
        self.redraw_count = 0
        self.history_loads = 0
        self._generation = 0
        self._listening = False
        self._mem_total: float | None = None
        self._swap_total: float | None = None
        self._top_rows: list[dict[str, Any]] | None = None
        self._demoted: dict[str, str] | None = None  # app id -> what of it was demoted, last poll
        self.names = AppsModel(parent=self)  # desktop-entry names and icons, build commands
        self._redraw_throttled = Throttle(self.redraw, REDRAW_MS, self)
        self._poll_timer = QTimer(self)
        self._poll_timer.setInterval(POLL_MS)
        self._poll_timer.timeout.connect(self._poll)

        self.range_box = QComboBox()
        for label, seconds in RANGES:
            self.range_box.addItem(label, seconds)
        self.range_box.currentIndexChanged.connect(lambda i: self.set_range(self.range_box.itemData(i)))
        self.status_label = QLabel("waiting for the helper")
        png = QPushButton("Export PNG…")
        png.clicked.connect(self.export_png_dialog)
        csv_button = QPushButton("Export CSV…")
        csv_button.clicked.connect(self.export_csv_dialog)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Range:"))
        bar.addWidget(self.range_box)
        bar.addWidget(self.status_label, 1)
        bar.addWidget(png)
        bar.addWidget(csv_button)

        self.cpu_plot = TimePlot("CPU", "%", {"cpu_busy": "total"})
        self.mem_plot = TimePlot(
            "Memory and swap", "% used", {"mem_used_pct": "memory", "swap_used_pct": "swap"}
        )
        self.psi_plot = TimePlot(
            "Pressure (PSI some, avg10)",
            "%",
            {"psi_cpu_some": "cpu", "psi_io_some": "io", "psi_memory_some": "memory"},
        )
        # One unit per axis: latencies (ms), the focused app's waiting (ms per s), the score (0-100).
        self.resp_plot = TimePlot(
            "Scheduling latency",
            "ms",
            {
                "latency_p50_ms": "p50",
                "latency_p95_ms": "p95",
                "latency_p99_ms": "p99",
                "focus_cpu_wait_max_ms": "focused app's worst wait",
            },
        )
        self.wait_plot = TimePlot(
            "Focused app waiting for the CPU", "ms per second", {"focus_cpu_wait_ms": "waited"}
        )
        self.score_plot = TimePlot("Responsiveness score", "score (0-100)", {"score": "score"}, top=100.0)
        self.wait_label = QLabel(wait_text({}))
        self.top_plot = TopApps(
            "Top applications' CPU",
            TOP_APPS,
            self.names.display_name,
            self.names.icon_of,
        )
        self.time_plots = (
            self.cpu_plot, self.mem_plot, self.psi_plot, self.resp_plot, self.wait_plot, self.score_plot
        )  # fmt: skip
        self.plots = QWidget()
        grid = QGridLayout(self.plots)
        for plot in self.time_plots:
            plot.setDownsampling(auto=True, mode="peak")
            plot.setClipToView(True)
        for i, plot in enumerate(self.time_plots):
            grid.addWidget(plot, i // 3, i % 3)
        grid.addWidget(self.top_plot, 2, 0, 1, 3)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.wait_label)
        layout.addWidget(self.plots, 1)
        self.range_box.setAccessibleName("Time range of the plots")
        png.setAccessibleName("Export the plots as a PNG image")
        csv_button.setAccessibleName("Export the plotted figures as CSV")
        self.resize(1200, 780)

    # visibility: all work starts on show and stops on hide

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._listening:
            self._listening = True
            self.conn.metrics.connect(self.on_metrics)
            self.conn.connected.connect(self._on_connected)
            self._poll_timer.start()
            self.load_history()
            self._poll()

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        self._stop()

    def closeEvent(self, event: QCloseEvent) -> None:
        self._stop()
        super().closeEvent(event)

    def _stop(self) -> None:
        if self._listening:
            self._listening = False
            self.conn.metrics.disconnect(self.on_metrics)
            self.conn.connected.disconnect(self._on_connected)
        self._poll_timer.stop()
        self._redraw_throttled.cancel()
        self._generation += 1  # a history reply still in flight is dropped
        self._demoted = None  # changes while hidden have no time to be marked at

    def _on_connected(self) -> None:
        self.load_history()

    # data in

    def on_metrics(self, sample: dict[str, Any]) -> None:
        if not self._listening:
            return
        when = float(sample.get("time", time.time()))
        self.store.add(when, flatten(sample, self._mem_total, self._swap_total))
        self.wait_label.setText(wait_text(sample))
        self._redraw_throttled()

    def set_range(self, seconds: float) -> None:
        self.range_seconds = float(seconds)
        index = next((i for i, (_, s) in enumerate(RANGES) if s == self.range_seconds), None)
        if index is not None and self.range_box.currentIndex() != index:
            self.range_box.setCurrentIndex(index)
            return  # currentIndexChanged calls back here
        if self._listening:
            self.load_history()
        self.redraw()

    def load_history(self) -> None:
        """Replace what is stored with the helper's history of the current range, then redraw."""
        self._generation += 1
        generation = self._generation
        self.status_label.setText("loading history…")
        self.conn.call(
            "history",
            self.range_seconds,
            on_done=lambda samples: self._history_loaded(generation, samples),
            on_error=lambda name, msg: self.status_label.setText(f"history unavailable: {msg}"),
        )

    def _history_loaded(self, generation: int, samples: list[dict[str, Any]]) -> None:
        if generation != self._generation:
            return
        self.history_loads += 1
        live = self.store
        self.store = SeriesStore()
        for s in samples:
            self.store.add(float(s.get("time", 0.0)), flatten(s, self._mem_total, self._swap_total))
        for name in live.names():  # live points newer than the history keep their place
            for t, v in zip(*live.window(name, self.store.last_time + 1e-6), strict=True):
                self.store.add(t, {name: v})
        self.status_label.setText(f"{len(samples)} samples from the helper's history")
        self.redraw()

    def _poll(self) -> None:
        self.conn.call("status", on_done=self._status_polled, on_error=lambda n, m: None)
        self.conn.call("apps", on_done=self._apps_polled, on_error=lambda n, m: None)

    def _status_polled(self, status: dict[str, Any]) -> None:
        if not self._listening:
            return
        self._mem_total = status.get("mem_total") or self._mem_total
        self._swap_total = status.get("swap_total") or self._swap_total
        swap: dict[str, Any] = {k: status[k] for k in ("swap_total", "swap_free") if k in status}
        self.store.add(time.time(), flatten(swap, None, None))

    def _apps_polled(self, apps: list[dict[str, Any]]) -> None:
        if not self._listening:
            return
        events, self._demoted = demotions.changes(self._demoted, apps, self.names.display_name)
        if events:
            now = time.time()
            for kind, text in events:
                self.cpu_plot.mark(now, text, kind)
        self._set_top(apps)

    def _set_top(self, rows: list[dict[str, Any]]) -> None:
        self._top_rows = rows  # drawn with the next redraw: one repaint for everything
        self._redraw_throttled()

    # drawing

    def visible_window(self) -> tuple[float, float]:
        until = max(time.time(), self.store.last_time)
        return until - self.range_seconds, until

    def series_names(self) -> list[str]:
        """Every series the plots show, in plot order (what CSV export writes)."""
        names: list[str] = []
        for plot in self.time_plots:
            names += [k for k in plot.labels if self.store.has(k)]
        names += [n for n in self.store.names() if n.startswith(CLASS_PREFIX) and n not in names]
        return names

    def redraw(self) -> None:
        self.redraw_count += 1
        since, until = self.visible_window()
        for name in self.store.names():
            if name.startswith(CLASS_PREFIX):
                self.cpu_plot.labels.setdefault(name, name.removeprefix(CLASS_PREFIX))
        for plot in self.time_plots:
            for key in list(plot.labels):
                times, values = self.store.window(key, since)
                plot.set_series(key, times, values)
            if plot.finish(since, until):
                plot.repaint_now()
        if self._top_rows is not None and self.top_plot.set_apps(self._top_rows):
            self.top_plot.repaint_now()
        self._top_rows = None

    # export

    def export_png(self, path: str | Path) -> bool:
        return self.plots.grab().save(str(path), "PNG")

    def export_csv(self, path: str | Path) -> int:
        """The visible series of the current range; returns the number of rows written."""
        since, _ = self.visible_window()
        return self.store.write_csv(Path(path), self.series_names(), since)

    def export_png_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export PNG", "smoothdesk.png", "PNG images (*.png)")
        if path:
            self.export_png(path)

    def export_csv_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export CSV", "smoothdesk.csv", "CSV files (*.csv)")
        if path:
            rows = self.export_csv(path)
            self.status_label.setText(f"wrote {rows} rows to {path}")

    def grab_screenshot(self, path: str | Path) -> bool:
        return self.grab().save(str(path), "PNG")
