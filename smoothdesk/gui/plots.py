"""pyqtgraph plots for the dashboard: time plots with a crosshair readout, and a bar chart."""

from __future__ import annotations

import bisect
import time
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QGraphicsView

PALETTE = ("#2e86de", "#e67e22", "#27ae60", "#c0392b", "#8e44ad", "#16a085", "#7f8c8d", "#d35400")


class ManualPaint:
    """Painting is most of a plot's cost, and pyqtgraph asks for it several times per change (data,
    range, axes): scene changes do not repaint by themselves; the owner calls `repaint_now` once."""

    def manual_paint(self: Any) -> None:
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.NoViewportUpdate)

    def repaint_now(self: Any) -> None:
        self.viewport().update()


class TimePlot(ManualPaint, pg.PlotWidget):  # type: ignore[misc]
    """A plot of named series against wall-clock time; hovering shows time and values."""

    def __init__(self, title: str, unit: str, series: dict[str, str]) -> None:
        super().__init__(axisItems={"bottom": pg.DateAxisItem(orientation="bottom")})
        self.unit = unit
        self.setTitle(title)
        self.setLabel("left", unit)
        self.showGrid(x=True, y=True, alpha=0.2)
        self.manual_paint()
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.disableAutoRange()  # ranges are set once per redraw: autoranging repaints again
        self._y_top = 0.0
        self.addLegend(offset=(5, 5))
        self.labels = dict(series)
        self.curves: dict[str, pg.PlotDataItem] = {}
        self._data: dict[str, tuple[list[float], list[float]]] = {}
        for key, label in series.items():
            self._curve(key, label)
        self.empty_text = pg.TextItem("no data yet", color="#888888", anchor=(0.5, 0.5))
        self.addItem(self.empty_text, ignoreBounds=True)
        self.vline = pg.InfiniteLine(
            angle=90, movable=False, pen=pg.mkPen("#888888", style=Qt.PenStyle.DashLine)
        )
        self.readout = pg.TextItem("", color="#222222", fill=pg.mkBrush(255, 255, 255, 210), anchor=(0, 0))
        for item in (self.vline, self.readout):
            item.setVisible(False)
            self.addItem(item, ignoreBounds=True)
        self.scene().sigMouseMoved.connect(self._mouse_moved)

    def _curve(self, key: str, label: str) -> pg.PlotDataItem:
        if key not in self.curves:
            pen = pg.mkPen(PALETTE[len(self.curves) % len(PALETTE)], width=2)
            self.curves[key] = self.plot([], [], name=label, pen=pen)
            self.labels.setdefault(key, label)
        return self.curves[key]

    def set_series(self, key: str, times: list[float], values: list[float], label: str | None = None) -> None:
        self._data[key] = (times, values)
        self._curve(key, label or self.labels.get(key, key)).setData(times, values)

    def finish(self, since: float, until: float) -> None:
        """After a redraw: the x range, and "no data yet" when no series has a point."""
        self.setXRange(since, until, padding=0)
        has_data = any(t for t, _ in self._data.values())
        self.empty_text.setVisible(not has_data)
        if not has_data:
            self.empty_text.setPos((since + until) / 2, 0.5)
            top = 1.0
        else:
            peak = max((max(v) for t, v in self._data.values() if v), default=0.0)
            top = _nice_ceiling(peak * 1.1)
        if top != self._y_top:
            self._y_top = top
            self.setYRange(0, top, padding=0)

    def point_count(self, key: str) -> int:
        return len(self._data.get(key, ([], []))[0])

    def readout_at(self, x: float) -> str:
        """The hover text for time `x`: the nearest point of each series."""
        lines = [time.strftime("%H:%M:%S", time.localtime(x))]
        for key, (times, values) in self._data.items():
            if not times:
                continue
            i = min(bisect.bisect_left(times, x), len(times) - 1)
            if i > 0 and abs(times[i - 1] - x) < abs(times[i] - x):
                i -= 1
            lines.append(f"{self.labels.get(key, key)}: {values[i]:.1f} {self.unit}")
        return "\n".join(lines)

    def _mouse_moved(self, pos: QPointF) -> None:
        vb = self.getPlotItem().vb
        if not self.sceneBoundingRect().contains(pos) or not any(t for t, _ in self._data.values()):
            self.vline.setVisible(False)
            self.readout.setVisible(False)
            self.repaint_now()
            return
        point = vb.mapSceneToView(pos)
        self.vline.setPos(point.x())
        self.readout.setText(self.readout_at(point.x()))
        self.readout.setPos(point.x(), point.y())
        self.vline.setVisible(True)
        self.readout.setVisible(True)
        self.repaint_now()


def _nice_ceiling(value: float) -> float:
    """The next of 1, 2, 5, 10, 20, 50, 100, ... at or above `value` (steady axes, fewer relayouts)."""
    step = 1.0
    while True:
        for m in (1.0, 2.0, 5.0):
            if step * m >= value:
                return step * m
        step *= 10.0


class BarPlot(ManualPaint, pg.PlotWidget):  # type: ignore[misc]
    """Horizontal bars of the top applications' CPU, newest figures only."""

    def __init__(self, title: str) -> None:
        super().__init__()
        self.setTitle(title)
        self.setLabel("bottom", "% of one core")
        self.manual_paint()
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.bars = pg.BarGraphItem(x0=[], y=[], height=0.6, width=[], brush=PALETTE[0])
        self.addItem(self.bars)
        self.empty_text = pg.TextItem("no data yet", color="#888888", anchor=(0.5, 0.5))
        self.addItem(self.empty_text)
        self.rows: list[tuple[str, float]] = []

    def set_rows(self, rows: list[tuple[str, float]]) -> bool:
        """Show `rows`; False (and nothing redrawn) when they look the same as before."""
        if [(n, round(v, 1)) for n, v in rows] == [(n, round(v, 1)) for n, v in self.rows]:
            return False
        self.rows = list(rows)
        n = len(rows)
        ys = list(range(n))
        self.bars.setOpts(x0=[0] * n, y=ys, width=[v for _, v in rows], height=0.6)
        axis = self.getAxis("left")
        axis.setTicks([[(y, name[:20]) for y, (name, _) in zip(ys, rows, strict=True)]])
        self.empty_text.setVisible(n == 0)
        if n:
            self.setYRange(-0.5, n - 0.5)
            self.setXRange(0, max(10.0, max(v for _, v in rows) * 1.1))
        else:
            self.empty_text.setPos(0.5, 0.5)
        return True
