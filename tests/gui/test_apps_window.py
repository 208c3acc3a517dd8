"""The applications window against a real user-mode helper that really changes processes."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from smoothdesk.gui.apps_model import CPU, NAME, AppsFilter, AppsModel
from smoothdesk.gui.apps_window import AppsWindow
from smoothdesk.gui.desktop_entries import DesktopEntries
from tests.gui.live import TIMEOUT, LiveHelper, connect, connect_as_nobody, live_helper
from tests.support.procs import named_binary, sched_state, stop

pytestmark = pytest.mark.root

IOPRIO_CLASS_IDLE = 3


def ioprio_class(pid: int) -> int:
    value = sched_state(pid)["ioprio"]
    assert isinstance(value, int)
    return value >> 13


@pytest.fixture
def helper(bus_address: str, tmp_path: Path) -> Iterator[LiveHelper]:
    with live_helper(bus_address, tmp_path) as h:
        yield h


@pytest.fixture
def sleeper(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    name = f"sdg{uuid.uuid4().hex[:8]}"
    # Its own session, so it is an app group of its own (not part of pytest's).
    proc = subprocess.Popen([str(named_binary(tmp_path, name)), "-c", "sleep 600"], start_new_session=True)
    try:
        yield name, proc
    finally:
        stop(proc)


def open_window(qtbot: QtBot, bus: str, name: str, *, as_nobody: bool = False) -> AppsWindow:
    conn = connect_as_nobody(qtbot, bus) if as_nobody else connect(qtbot, bus)
    window = AppsWindow(conn, entries=DesktopEntries([]))
    qtbot.addWidget(window)
    window.destroyed.connect(conn.stop)
    window.show()
    qtbot.waitUntil(lambda: window.model.row_of(app_id(window, name)) >= 0, timeout=TIMEOUT)
    return window


def app_id(window: AppsWindow, name: str) -> str:
    for row in range(window.model.rowCount()):
        app = window.model.app(row)
        if app["name"] == name:
            return str(app["id"])
    window.refresh()
    return ""


def settled_state(qtbot: QtBot, pid: int) -> dict[str, object]:
    """The sleeper's levers once the helper has settled them.

    Under `make test`, pytest is in make's subtree, which the helper demotes (a build driver's
    load), so the sleeper is born with pytest's demotion and the helper then gives it back: the
    state to compare with is the one a few ticks after the helper listed the sleeper."""
    qtbot.wait(1500)
    state = sched_state(pid)
    assert state["policy"] != os.SCHED_IDLE and state["nice"] == 0 and state["ioprio"] == 0, state
    return state


def choose(window: AppsWindow, klass: str) -> None:
    window.class_choice.setCurrentIndex(window.class_choice.findData(klass))


def test_this_session_changes_the_real_process(qtbot: QtBot, helper: LiveHelper, sleeper: Any) -> None:
    name, proc = sleeper
    window = open_window(qtbot, helper.bus, name)
    before = settled_state(qtbot, proc.pid)
    assert window.select_app(app_id(window, name))
    choose(window, "idle")
    window.session_button.click()
    # A user-mode helper changes only what it can undo: here the IO class (idle) and the
    # session's autogroup nice; nice and SCHED_IDLE need an RLIMIT_NICE the sleeper lacks.
    if not wait_for(lambda: ioprio_class(proc.pid) == IOPRIO_CLASS_IDLE, 30, qtbot):
        app = window.model.app(window.model.row_of(app_id(window, name)))
        raise AssertionError(
            f"{sched_state(proc.pid)} {window.banner.text()} {app}\n{helper.log.read_text()}"
        )
    after = sched_state(proc.pid)
    assert after != before and after["nice"] >= before["nice"]  # type: ignore[operator]
    qtbot.waitUntil(lambda: window.banner.kind == "info", timeout=TIMEOUT)  # the reply may trail the change
    assert "idle for this session" in window.banner.text()
    qtbot.waitUntil(lambda: "pinned" in class_text(window, name), timeout=TIMEOUT)
    assert window.selected_app() is not None and window.selected_app()["name"] == name  # type: ignore[index]

    choose(window, "auto")
    window.session_button.click()
    qtbot.waitUntil(lambda: sched_state(proc.pid) == before, timeout=TIMEOUT)


def wait_for(predicate: Any, seconds: float, qtbot: QtBot) -> bool:
    try:
        qtbot.waitUntil(predicate, timeout=int(seconds * 1000))
    except Exception:  # pytestqt's TimeoutError
        return False
    return True


def class_text(window: AppsWindow, name: str) -> str:
    row = window.model.row_of(app_id(window, name))
    return str(window.model.index(row, 1).data()) if row >= 0 else ""


def test_always_writes_a_rule_the_helper_lists(qtbot: QtBot, helper: LiveHelper, sleeper: Any) -> None:
    name, _ = sleeper
    window = open_window(qtbot, helper.bus, name)
    assert window.select_app(app_id(window, name))
    choose(window, "background")
    window.always_button.click()
    qtbot.waitUntil(lambda: window.banner.kind == "info", timeout=TIMEOUT)
    assert str(helper.rules_file) in window.banner.text()
    rules: list[list[dict[str, Any]]] = []
    window.conn.call("rules", on_done=rules.append)
    qtbot.waitUntil(lambda: bool(rules), timeout=TIMEOUT)
    mine = [r for r in rules[0] if r.get("name") == name]
    assert mine and mine[0]["class"] == "background"
    assert mine[0]["source"].startswith(str(helper.rules_file))
    # The rule decides the app from the next tick; the reason chain cites it.
    qtbot.waitUntil(lambda: class_text(window, name) == "background", timeout=TIMEOUT)
    window.banner.clear_message()
    window.show_matching_rule(window.selected_app() or {})
    qtbot.waitUntil(lambda: f"name={name}" in window.banner.text(), timeout=TIMEOUT)
    assert f"→ background ({helper.rules_file}" in window.banner.text()


def test_a_denied_change_says_so_and_changes_nothing(qtbot: QtBot, helper: LiveHelper, sleeper: Any) -> None:
    name, proc = sleeper
    # The helper runs as root; a session of another uid (nobody) may read but not change anything.
    window = open_window(qtbot, helper.bus, name, as_nobody=True)
    before = settled_state(qtbot, proc.pid)
    assert os.geteuid() == 0
    assert window.select_app(app_id(window, name))
    shown = class_text(window, name)
    choose(window, "idle")
    window.session_button.click()
    qtbot.waitUntil(lambda: window.banner.kind == "error", timeout=TIMEOUT)
    assert window.banner.text().startswith("Not allowed:")
    assert "uid 65534" in window.banner.text()
    window.refresh()
    qtbot.wait(1500)  # three helper ticks: a pin, had it been taken, would have acted by now
    assert sched_state(proc.pid) == before
    assert class_text(window, name) == shown and "pinned" not in shown


APPS = [
    {
        "id": "tree:0:1:1",
        "name": "firefox",
        "class": "normal",
        "reasons": ["default: x"],
        "cpu": 12.0,
        "rss": 500 << 20,
        "io_rate": 0.0,
        "nice": 0,
        "pinned": "",
        "unit": "",
    },
    {
        "id": "tree:0:2:2",
        "name": "cc1plus",
        "class": "background",
        "reasons": ["rule: cc1plus → compiler"],
        "cpu": 95.0,
        "rss": 90 << 20,
        "io_rate": 10.0,
        "nice": 10,
        "pinned": "",
        "unit": "",
    },
    {
        "id": "tree:0:3:3",
        "name": "baloo_file",
        "class": "idle",
        "reasons": ["rule: indexer"],
        "cpu": 3.5,
        "rss": 900 << 20,
        "io_rate": 5e6,
        "nice": 19,
        "pinned": "",
        "unit": "",
    },
]


def proxy_names(proxy: AppsFilter) -> list[str]:
    return [str(proxy.index(r, NAME).data()) for r in range(proxy.rowCount())]


def test_search_filter_and_sort(qtbot: QtBot) -> None:
    model = AppsModel(DesktopEntries([]))
    proxy = AppsFilter()
    proxy.setSourceModel(model)
    model.set_apps(APPS)
    proxy.sort(CPU, proxy.sortOrder().DescendingOrder)
    assert proxy_names(proxy) == ["cc1plus", "firefox", "baloo_file"]
    proxy.sort(4, proxy.sortOrder().AscendingOrder)  # memory, by bytes not by text
    assert proxy_names(proxy) == ["cc1plus", "firefox", "baloo_file"]
    proxy.set_search("COMPILER")
    assert proxy_names(proxy) == ["cc1plus"]
    proxy.set_search("")
    proxy.set_class("idle")
    assert proxy_names(proxy) == ["baloo_file"]
    proxy.set_class("")
    # Incremental: one gone, one changed, one new; persistent indexes (selections) follow their row.
    keep = model.index(model.row_of("tree:0:1:1"), 0)
    from PySide6.QtCore import QPersistentModelIndex

    pkeep = QPersistentModelIndex(keep)
    changed = [dict(APPS[0], cpu=50.0), APPS[2], dict(APPS[1], id="tree:0:9:9", name="rustc")]
    model.set_apps(changed)
    assert model.rowCount() == 3
    assert model.app(pkeep.row())["name"] == "firefox" and model.app(pkeep.row())["cpu"] == 50.0
    assert model.row_of("tree:0:2:2") == -1 and model.row_of("tree:0:9:9") >= 0


def test_refreshes_asked_faster_than_answered_are_coalesced(
    qtbot: QtBot, helper: LiveHelper, sleeper: Any
) -> None:
    # A window of an unprivileged uid outside the active session: its calls count against its
    # uid's bounded calls in flight, so asking 200 times must not send 200 ListApps.
    name, _ = sleeper
    window = open_window(qtbot, helper.bus, name, as_nobody=True)
    before = window.refresh_count
    for _ in range(200):
        window.refresh()
    qtbot.waitUntil(lambda: window.refresh_count >= before + 2, timeout=TIMEOUT)
    qtbot.wait(500)
    # The one in flight, one more for all the rest, and the window's own periodic refreshes.
    assert window.refresh_count - before < 10
    assert window.banner.kind != "error", window.banner.text()
    # Its own clicks still get through: a denied change says so, not "calls in progress".
    assert window.select_app(app_id(window, name))
    choose(window, "idle")
    window.session_button.click()
    qtbot.waitUntil(lambda: window.banner.kind == "error", timeout=TIMEOUT)
    assert window.banner.text().startswith("Not allowed:"), window.banner.text()
