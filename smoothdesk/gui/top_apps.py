"""The dashboard's top applications: icon, the name a person knows, CPU now and a small CPU sparkline."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QPointF, QSize, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QGridLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from smoothdesk.gui.plots import PALETTE, theme_colours

HISTORY = 60  # points per sparkline (one per poll)
ICON_PX = 16


class Sparkline(QWidget):
    """A line of the last CPU figures, scaled to the larger of 100 % and its own peak."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.values: list[float] = []
        self.setMinimumSize(QSize(120, 18))
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_values(self, values: list[float]) -> None:
        if values != self.values:
            self.values = list(values)
            self.update()

    def top(self) -> float:
        return max(100.0, *self.values) if self.values else 100.0

    def points(self) -> list[QPointF]:
        w, h, top = self.width() - 2, self.height() - 2, self.top()
        n = len(self.values)
        step = w / max(HISTORY - 1, 1)
        x0 = 1 + w - step * (n - 1)
        return [QPointF(x0 + i * step, 1 + h - h * v / top) for i, v in enumerate(self.values)]

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        _, _, muted = theme_colours(self)
        painter.setPen(QPen(muted, 1, Qt.PenStyle.DotLine))
        painter.drawLine(1, self.height() - 1, self.width() - 1, self.height() - 1)
        if len(self.values) > 1:
            painter.setPen(QPen(QColor(PALETTE[0]), 1.5))
            painter.drawPolyline(QPolygonF(self.points()))
        painter.end()


class TopApps(QWidget):
    """`set_apps` takes ListApps rows; the busiest `count` are shown, each with its history."""

    def __init__(
        self,
        title: str,
        count: int,
        name_of: Callable[[dict[str, Any]], str],
        icon_of: Callable[[dict[str, Any]], QIcon | None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.count, self.name_of, self.icon_of = count, name_of, icon_of
        self.history: dict[str, deque[float]] = {}
        self.rows: list[tuple[str, float]] = []
        self.setAccessibleName(title)
        heading = QLabel(f"<b>{title}</b> <small>(% of one core; last {HISTORY} polls)</small>")
        self.empty = QLabel("no data yet")
        self.grid = QGridLayout()
        self.grid.setColumnStretch(1, 1)
        self.grid.setColumnStretch(3, 2)
        self.icons: list[QLabel] = []
        self.names: list[QLabel] = []
        self.figures: list[QLabel] = []
        self.sparks: list[Sparkline] = []
        for i in range(count):
            icon, name, figure, spark = QLabel(), QLabel(), QLabel(), Sparkline()
            icon.setFixedSize(ICON_PX, ICON_PX)
            figure.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            figure.setMinimumWidth(48)
            for col, widget in enumerate((icon, name, figure, spark)):
                self.grid.addWidget(widget, i, col)
                widget.setVisible(False)
            self.icons.append(icon)
            self.names.append(name)
            self.figures.append(figure)
            self.sparks.append(spark)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(self.empty)
        layout.addLayout(self.grid)
        layout.addStretch(1)

    def set_apps(self, apps: list[dict[str, Any]]) -> bool:
        """Record every app's CPU, show the busiest; False when nothing shown changed."""
        seen = set()
        for app in apps:
            key = str(app.get("id", app.get("name", "?")))
            seen.add(key)
            self.history.setdefault(key, deque(maxlen=HISTORY)).append(float(app.get("cpu", 0.0)))
        for gone in set(self.history) - seen:
            del self.history[gone]
        ranked = sorted(apps, key=lambda a: float(a.get("cpu", 0.0)), reverse=True)[: self.count]
        rows = [(self.name_of(a), float(a.get("cpu", 0.0))) for a in ranked]
        for i in range(self.count):
            shown = i < len(ranked)
            for widget in (self.icons[i], self.names[i], self.figures[i], self.sparks[i]):
                widget.setVisible(shown)
            if not shown:
                continue
            app = ranked[i]
            name, cpu = rows[i]
            self.names[i].setText(name)
            self.names[i].setToolTip(name)
            self.figures[i].setText(f"{cpu:.0f} %")
            icon = self.icon_of(app)
            if icon is not None and not icon.isNull():
                self.icons[i].setPixmap(icon.pixmap(ICON_PX, ICON_PX))
            else:
                self.icons[i].clear()
            self.sparks[i].set_values(list(self.history[str(app.get("id", app.get("name", "?")))]))
            self.sparks[i].setAccessibleName(f"CPU of {name} over the last {HISTORY} polls")
        self.empty.setVisible(not ranked)
        changed = [(n, round(v)) for n, v in rows] != [(n, round(v)) for n, v in self.rows]
        self.rows = rows
        return changed

    def repaint_now(self) -> None:
        self.update()
