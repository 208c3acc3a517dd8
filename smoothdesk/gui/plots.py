"""pyqtgraph plots for the dashboard: time plots with a crosshair readout and event marks, a bar chart,
all in the colours of the platform's light or dark theme."""

from __future__ import annotations

import bisect
import time
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QGraphicsView, QWidget

# Series colours readable on light and dark backgrounds alike (mid lightness).
PALETTE = ("#2e86de", "#e67e22", "#27ae60", "#c0392b", "#8e44ad", "#16a085", "#7f8c8d", "#d35400")
MARK_COLOURS = {"demoted": "#e67e22", "restored": "#27ae60"}
MAX_MARKS = 40


def theme_colours(widget: QWidget | None = None) -> tuple[QColor, QColor, QColor]:
    """(background, text, muted text) of the platform's theme, as the widget's palette has them."""
    palette = widget.palette() if widget is not None else QApplication.palette()
    background = palette.color(QPalette.ColorRole.Base)
    text = palette.color(QPalette.ColorRole.Text)
    muted = palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
    if muted == text:
        muted = QColor((text.red() + background.red()) // 2, (text.green() + background.green()) // 2,
                       (text.blue() + background.blue()) // 2)  # fmt: skip
    return background, text, muted


class Themed:
    """Background, axes, title and texts follow the palette, again whenever it changes."""

    def apply_theme(self: Any) -> None:
        background, text, muted = theme_colours(self)
        self.setBackground(background)
        item = self.getPlotItem()
        for name in ("left", "bottom", "right"):
            axis = item.getAxis(name)
            axis.setPen(pg.mkPen(muted))
            axis.setTextPen(pg.mkPen(text))
        item.titleLabel.setText(item.titleLabel.text, color=text.name())
        self._colour_legend(text)
        for label in self.theme_texts():
            label.setColor(muted)
        self.theme = (background.name(), text.name())

    def _colour_legend(self: Any, text: QColor | None = None) -> None:
        """setLabelTextColor only affects labels added later: existing ones are set again."""
        legend = self.getPlotItem().legend
        if legend is None:
            return
        colour = text or theme_colours(self)[1]
        legend.setLabelTextColor(colour)
        for _, label in legend.items:
            label.setText(label.text, color=colour.name())

    def theme_texts(self: Any) -> list[pg.TextItem]:
        return [self.empty_text] if hasattr(self, "empty_text") else []

    def changeEvent(self: Any, event: QEvent) -> None:
        super().changeEvent(event)  # type: ignore[misc]
        kinds = (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange)
        if event.type() in kinds and hasattr(self, "theme"):  # not while the plot is being built
            self.apply_theme()


class ManualPaint:
    """Painting is most of a plot's cost, and pyqtgraph asks for it several times per change (data,
    range, axes): scene changes do not repaint by themselves; the owner calls `repaint_now` once."""

    def manual_paint(self: Any) -> None:
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.NoViewportUpdate)

    def repaint_now(self: Any) -> None:
        self.viewport().update()


class TimePlot(Themed, ManualPaint, pg.PlotWidget):  # type: ignore[misc]
    """A plot of named series in one unit against wall-clock time; hovering shows time and values.
    `top` fixes the y range (a 0-100 score); marks are events drawn as vertical lines."""

    def __init__(self, title: str, unit: str, series: dict[str, str], top: float | None = None) -> None:
        super().__init__(axisItems={"bottom": pg.DateAxisItem(orientation="bottom")})
        self.unit = unit
        self.fixed_top = top
        self.marks: list[tuple[float, str, str, pg.InfiniteLine]] = []
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
        background, text, _ = theme_colours(self)
        fill = QColor(background)
        fill.setAlpha(220)
        self.readout = pg.TextItem("", color=text, fill=pg.mkBrush(fill), anchor=(0, 0))
        for item in (self.vline, self.readout):
            item.setVisible(False)
            self.addItem(item, ignoreBounds=True)
        self.scene().sigMouseMoved.connect(self._mouse_moved)
        self.setAccessibleName(f"{title} plot, {unit}")
        self.apply_theme()

    def mark(self, when: float, text: str, kind: str) -> None:
        """A vertical line at `when` labelled `text` (kind "demoted" or "restored")."""
        colour = MARK_COLOURS.get(kind, "#888888")
        line = pg.InfiniteLine(
            pos=when,
            angle=90,
            movable=False,
            pen=pg.mkPen(colour, width=1, style=Qt.PenStyle.DotLine),
            label=text,
            # Left of the line: the newest marks are at the plot's right edge, where a label would be cut.
            labelOpts={"position": 0.95, "color": colour, "anchors": [(1, 0), (1, 0)]},
        )
        self.addItem(line, ignoreBounds=True)
        self.marks.append((when, text, kind, line))
        while len(self.marks) > MAX_MARKS:
            self.removeItem(self.marks.pop(0)[3])

    def drop_marks_before(self, since: float) -> None:
        for entry in [m for m in self.marks if m[0] < since]:
            self.removeItem(entry[3])
            self.marks.remove(entry)

    def _curve(self, key: str, label: str) -> pg.PlotDataItem:
        if key not in self.curves:
            pen = pg.mkPen(PALETTE[len(self.curves) % len(PALETTE)], width=2)
            self.curves[key] = self.plot([], [], name=label, pen=pen)
            if hasattr(self, "theme"):
                self._colour_legend()
            self.labels.setdefault(key, label)
        return self.curves[key]

    def set_series(self, key: str, times: list[float], values: list[float], label: str | None = None) -> None:
        self._data[key] = (times, values)
        self._curve(key, label or self.labels.get(key, key)).setData(times, values)

    def finish(self, since: float, until: float) -> bool:
        """After a redraw: the x range, and "no data yet" when no series has a point. False when
        nothing needs painting: a plot that stays empty keeps its first picture (the focused app's
        wait has no figures at all without a session agent, and repainting it cost CPU each second)."""
        has_data = any(t for t, _ in self._data.values())
        if not has_data and self.empty_text.isVisible() and self._y_top and not self.marks:
            return False
        self.setXRange(since, until, padding=0)
        self.empty_text.setVisible(not has_data)
        self.drop_marks_before(since)
        if not has_data:
            self.empty_text.setPos((since + until) / 2, (self.fixed_top or 1.0) / 2)
            top = self.fixed_top or 1.0
        elif self.fixed_top is not None:
            top = self.fixed_top
        else:
            peak = max((max(v) for t, v in self._data.values() if v), default=0.0)
            top = _nice_ceiling(peak * 1.1)
        if top != self._y_top:
            self._y_top = top
            self.setYRange(0, top, padding=0)
        return True

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
