"""Python's cycle collector, run only in the GUI thread: Qt objects must be destroyed where they live.

Left automatic, the collector runs in whichever thread happens to allocate, and the connection's
dbus-fast thread allocates on every message. A window or dialog caught in a reference cycle was then
destroyed in that thread: Qt cannot stop its timers from there ("Timers cannot be stopped from another
thread"), and the next timer event reaches freed memory (a segfault).
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 1000


class GuiThreadGc(QObject):
    """Turns automatic collection off and collects from a GUI-thread timer instead."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        gc.disable()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.collect)
        self._timer.start(interval_ms)

    def collect(self) -> int:
        """The youngest generation every time (tens of microseconds), older ones once their counts pass
        the thresholds, as the automatic collector would."""
        counts, thresholds = gc.get_count(), gc.get_threshold()
        generation = 2 if counts[2] > thresholds[2] else 1 if counts[1] > thresholds[1] else 0
        return gc.collect(generation)
