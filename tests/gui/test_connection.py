"""HelperConnection against a real user-mode helper: status, metrics, calls, errors, reconnects."""

from __future__ import annotations

from typing import Any

from pytestqt.qtbot import QtBot

from smoothdesk.gui.connection import HelperConnection
from tests.gui.conftest import UserHelper

TIMEOUT = 20_000


def test_connects_and_receives_status_and_metrics(qtbot: QtBot, user_helper: UserHelper) -> None:
    conn = HelperConnection(user_helper.bus)
    statuses: list[dict[str, Any]] = []
    conn.status.connect(statuses.append)
    try:
        with qtbot.waitSignals([conn.connected, conn.status], timeout=TIMEOUT):
            conn.start()
        assert statuses[-1]["mode"] == "user"
        assert conn.is_connected
        with qtbot.waitSignal(conn.metrics, timeout=TIMEOUT) as sample:
            pass
        assert 0.0 <= sample.args[0]["cpu_busy"] <= 100.0
    finally:
        conn.stop()


def test_call_returns_results_and_errors_in_the_gui_thread(qtbot: QtBot, user_helper: UserHelper) -> None:
    conn = HelperConnection(user_helper.bus)
    results: list[Any] = []
    errors: list[tuple[str, str]] = []
    try:
        with qtbot.waitSignal(conn.connected, timeout=TIMEOUT):
            conn.start()
        conn.call("apps", on_done=results.append)
        conn.call("GetStatus", on_done=results.append)
        conn.call("SetClass", "no-such-app", "idle", 0.0, on_error=lambda n, m: errors.append((n, m)))
        conn.call("GetNoSuchThing", on_error=lambda n, m: errors.append((n, m)))
        qtbot.waitUntil(lambda: len(results) == 2 and len(errors) == 2, timeout=TIMEOUT)
        assert isinstance(results[0], list) and results[0], "the helper sees at least this process tree"
        assert results[1]["mode"] == "user"
        names = {n for n, _ in errors}
        assert "org.smoothdesk.Error.NotFound" in names
        assert "org.freedesktop.DBus.Error.UnknownMethod" in names
    finally:
        conn.stop()


def test_reconnects_after_the_helper_restarts(qtbot: QtBot, user_helper: UserHelper) -> None:
    conn = HelperConnection(user_helper.bus)
    statuses: list[dict[str, Any]] = []
    conn.status.connect(statuses.append)
    try:
        with qtbot.waitSignal(conn.connected, timeout=TIMEOUT):
            conn.start()
        first_pid = user_helper.proc.pid if user_helper.proc else 0
        with qtbot.waitSignal(conn.disconnected, timeout=TIMEOUT) as down:
            user_helper.stop()
        assert "not running" in down.args[0]
        assert not conn.is_connected
        with qtbot.waitSignals([conn.connected, conn.status], timeout=TIMEOUT):
            user_helper.start(wait=False)
        assert conn.is_connected
        assert statuses[-1]["pid"] != first_pid
    finally:
        conn.stop()


def test_without_a_helper_it_says_so_and_calls_fail_cleanly(qtbot: QtBot, bus_address: str) -> None:
    conn = HelperConnection(bus_address)
    errors: list[str] = []
    try:
        with qtbot.waitSignal(conn.disconnected, timeout=TIMEOUT) as down:
            conn.start()
        assert "not running" in down.args[0]
        conn.call("status", on_error=lambda n, m: errors.append(n))
        qtbot.waitUntil(lambda: bool(errors), timeout=TIMEOUT)
        assert errors == ["org.freedesktop.DBus.Error.ServiceUnknown"]
    finally:
        conn.stop()


def test_unreachable_bus_is_reported(qtbot: QtBot, tmp_path: Any) -> None:
    conn = HelperConnection(f"unix:path={tmp_path}/nobus")
    try:
        with qtbot.waitSignal(conn.disconnected, timeout=TIMEOUT) as down:
            conn.start()
        assert "cannot connect" in down.args[0]
    finally:
        conn.stop()
