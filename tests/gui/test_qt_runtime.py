"""The Qt binding itself: PySide6 6.12.0 drops a reference to True on every Python-side emit(), which
kills a long-running app on Python < 3.12 (bool_dealloc). The tray emits for each Metrics sample."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal
from pytestqt.qtbot import QtBot


class Emitter(QObject):
    ping = Signal(object)


def test_emit_keeps_reference_counts(qtbot: QtBot) -> None:
    emitter = Emitter()
    got: list[object] = []
    emitter.ping.connect(got.append)
    before = sys.getrefcount(True), sys.getrefcount(False)
    for _ in range(200):
        emitter.ping.emit({"paused": True, "dry_run": False})
    got.clear()
    after = sys.getrefcount(True), sys.getrefcount(False)
    # Immortal bools (3.12+) report a constant; on 3.11 a leak shows as a drop of about 200.
    assert abs(after[0] - before[0]) < 20 and abs(after[1] - before[1]) < 20, (before, after)
