"""Rate-limit a callable: the first call runs now, later ones coalesce into one per interval."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer


class Throttle(QObject):
    """Like qutebrowser's misc/throttle.py: at most one call per `delay_ms`, the last arguments win.

    A call inside the interval is kept (only the newest) and run when the interval ends, so the
    final state is never lost; `cancel()` drops it, e.g. when the window hides.
    """

    def __init__(self, func: Callable[..., Any], delay_ms: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._func = func
        self._delay_ms = delay_ms
        self._pending: tuple[tuple[Any, ...], dict[str, Any]] | None = None
        self._last_call_ms: float | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._fire)

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        now = time.monotonic() * 1000.0
        if self._timer.isActive():
            self._pending = (args, kwargs)
            return
        if self._last_call_ms is None or now - self._last_call_ms >= self._delay_ms:
            self._last_call_ms = now
            self._func(*args, **kwargs)
            return
        self._pending = (args, kwargs)
        self._timer.start(max(0, int(self._delay_ms - (now - self._last_call_ms))))

    @property
    def pending(self) -> bool:
        return self._pending is not None

    def cancel(self) -> None:
        self._timer.stop()
        self._pending = None

    def _fire(self) -> None:
        if self._pending is None:
            return
        args, kwargs = self._pending
        self._pending = None
        self._last_call_ms = time.monotonic() * 1000.0
        self._func(*args, **kwargs)
