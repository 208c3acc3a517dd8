"""Apps a person recognises: a build as the command they started, in its directory, expanding to its
processes with their own class and reason (a real user-mode helper, a real make); desktop icons."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QItemSelectionModel
from PySide6.QtGui import QColor, QIcon, QImage
from PySide6.QtWidgets import QAbstractItemView
from pytestqt.qtbot import QtBot

from smoothdesk.gui.app_names import command_text, home_short
from smoothdesk.gui.apps_model import CLASS, NAME, REASONS, AppsModel
from smoothdesk.gui.apps_window import AppsWindow
from smoothdesk.gui.desktop_entries import DesktopEntries
from tests.gui.conftest import UserHelper
from tests.gui.live import TIMEOUT, connect
from tests.support.procs import named_binary, stop


@pytest.fixture
def build(user_dirs: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[subprocess.Popen[bytes]]:
    """`timeout 600 make -j8` in ~/src/foo, as a person starts a build in a terminal: the process
    group's leader is `timeout`, and make runs a compiler (a dash named cc1plus) that sleeps."""
    monkeypatch.setenv("HOME", str(user_dirs))
    src = user_dirs / "src" / "foo"
    src.mkdir(parents=True)
    named_binary(src, "cc1plus")
    (src / "Makefile").write_text("all:\n\t./cc1plus -c 'sleep 600'\n")
    proc = subprocess.Popen(["timeout", "600", "make", "-j8"], cwd=src, start_new_session=True)
    yield proc
    stop(proc)


def test_a_build_is_named_by_its_command_and_expands_to_its_compiler(
    qtbot: QtBot, user_helper: UserHelper, build: subprocess.Popen[bytes]
) -> None:
    conn = connect(qtbot, user_helper.bus)
    window = AppsWindow(conn, entries=DesktopEntries([]))
    qtbot.addWidget(window)
    window.destroyed.connect(conn.stop)
    window.show()

    def the_build() -> dict[str, Any] | None:
        row = next((r for r in range(window.model.rowCount()) if window.model.app(r)["id"].endswith(
            f":{build.pid}") and window.model.app(r).get("name") == "timeout"), -1)  # fmt: skip
        return window.model.app(row) if row >= 0 else None

    def compiler_listed() -> bool:
        app = the_build()
        return app is not None and any(m["class"] == "background" for m in app.get("members", []))

    qtbot.waitUntil(compiler_listed, timeout=TIMEOUT)
    app = the_build()
    assert app is not None
    app_id = app["id"]
    row = window.model.row_of(app_id)
    parent = window.model.index(row, NAME)
    assert parent.data() == "make -j8 in ~/src/foo"
    assert app["command"] == ["timeout", "600", "make", "-j8"]
    assert "normal" in window.model.index(row, CLASS).data()  # the build's driver keeps the app's class
    assert window.expand_app(app_id)
    shown = window.proxy.mapFromSource(parent)
    assert window.table.isExpanded(shown)
    children = [
        [window.model.index(i, col, parent).data() for col in (NAME, CLASS, REASONS)]
        for i in range(window.model.rowCount(parent))
    ]
    compilers = [c for c in children if c[0].startswith("compiler (pid ")]
    assert compilers and all(c[1] == "background" for c in compilers), children
    assert all("compiler" in c[2] for c in compilers), children
    # Selecting a process row selects its app for the class controls.
    child = window.proxy.mapFromSource(window.model.index(0, 0, parent))
    flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
    window.table.selectionModel().setCurrentIndex(child, flags)
    selected = window.selected_app()
    assert selected is not None and selected["id"] == app_id
    assert window.table.selectionMode() == QAbstractItemView.SelectionMode.SingleSelection


def test_command_text_strips_what_only_starts_the_command() -> None:
    assert command_text(["timeout", "600", "make", "-j8"]) == "make -j8"
    assert command_text(["/bin/bash", "-c", "nice -n 19 ninja -C out"]) == "ninja -C out"
    assert command_text(["bash", "./scripts/build.sh", "--fast"]) == "build.sh --fast"
    assert command_text(["env", "CC=clang", "/usr/bin/make", "all"]) == "make all"
    assert command_text(["bash"]) == "bash"
    assert command_text(["sh", "-c", "cd x && make"]) == "cd x && make"
    assert home_short("/home/ann/src/foo", "/home/ann") == "~/src/foo"
    assert home_short("/home/annex/x", "/home/ann") == "/home/annex/x"


def test_display_name_and_icon_from_a_desktop_entry(qtbot: QtBot, tmp_path: Path) -> None:
    """A themed icon name (Icon=sdtest-editor, as desktop files have it) is found in hicolor."""
    data = tmp_path / "data"
    (data / "applications").mkdir(parents=True)
    (data / "applications" / "org.example.Editor.desktop").write_text(
        "[Desktop Entry]\nType=Application\nName=Example Editor\nIcon=sdtest-editor\nExec=sdeditor %F\n"
    )
    icons = data / "icons" / "hicolor" / "48x48" / "apps"
    icons.mkdir(parents=True)
    image = QImage(48, 48, QImage.Format.Format_ARGB32)
    image.fill(QColor("#12ab34"))
    assert image.save(str(icons / "sdtest-editor.png"))
    model = AppsModel(DesktopEntries([data]))
    model.set_apps([{"id": "tree:1:5", "name": "sdeditor", "kind": "tree", "command": ["sdeditor", "a.txt"]}])
    assert model.index(0, NAME).data() == "Example Editor"
    icon = model.index(0, NAME).data(1)  # DecorationRole
    assert isinstance(icon, QIcon) and not icon.isNull()
    assert icon.pixmap(16, 16).toImage().pixelColor(8, 8).name() == "#12ab34"
    assert "sdeditor a.txt" in model.index(0, NAME).data(3)  # the tooltip has the full command
