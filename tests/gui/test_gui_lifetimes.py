"""Qt objects and the connection thread: a reply for a window closed meanwhile is dropped, not raised,
and cyclic garbage is destroyed in the GUI thread, not in whichever thread the collector ran."""

from __future__ import annotations

import gc
import threading
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from smoothdesk.gui.connection import HelperConnection
from smoothdesk.gui.gc_guard import GuiThreadGc
from tests.gui.conftest import UserHelper


class Window(QWidget):
    def loaded(self, apps: Any) -> None:
        self.setWindowTitle(f"{len(apps)} apps")  # raises if the C++ window is gone


def test_a_reply_for_a_deleted_window_is_dropped(qtbot: QtBot, user_helper: UserHelper) -> None:
    conn = HelperConnection(user_helper.bus)
    try:
        with qtbot.waitSignal(conn.connected, timeout=20_000):
            conn.start()
        closed, alive = Window(), Window()
        conn.call("apps", on_done=closed.loaded)
        shiboken6.delete(closed)  # before the reply can reach the GUI thread
        conn.call("apps", on_done=alive.loaded)
        qtbot.waitUntil(lambda: alive.windowTitle().endswith("apps"), timeout=20_000)
        qtbot.wait(200)  # the first reply, had it been delivered, would have raised in Qt's loop by now
        alive.deleteLater()
    finally:
        conn.stop()


def test_cyclic_garbage_is_destroyed_in_the_gui_thread_not_the_connection_thread(qtbot: QtBot) -> None:
    gc.enable()  # as in the app before the guard (the GUI test fixtures turn it off)
    guard = GuiThreadGc(interval_ms=50)
    try:
        destroyed_in: list[str] = []
        obj = QObject()
        obj.cycle = obj  # type: ignore[attr-defined]  # reachable only by the collector once dropped
        obj.destroyed.connect(
            lambda: destroyed_in.append(threading.current_thread().name), Qt.ConnectionType.DirectConnection
        )
        del obj
        # Allocations like the dbus-fast thread's: enough to trigger an automatic collection there.
        worker = threading.Thread(target=lambda: [[] for _ in range(50_000)], name="helper-conn-like")
        worker.start()
        worker.join()
        assert destroyed_in == []
        qtbot.waitUntil(lambda: destroyed_in == ["MainThread"], timeout=10_000)
    finally:
        shiboken6.delete(guard)
        gc.disable()
