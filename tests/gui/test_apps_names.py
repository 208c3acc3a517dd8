"""Apps a person recognises: a build as the command they started, in its directory, expanding to its
processes with their own class and reason (a real user-mode helper, a real make); desktop icons."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass
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


@dataclass
class Build:
    proc: subprocess.Popen[bytes]
    make: str
    compiler: str


def start_build(home: Path) -> Build:
    """`timeout 600 ./<make> -j8` in ~/src/foo, as a person starts a build in a terminal: the process
    group's leader is `timeout`, and make runs a compiler (a dash) that sleeps. Both have names of
    their own: other agents' root helpers on a shared machine demote a real `make` or `cc1plus` at
    once, and ours then leaves them alone as started under nice."""
    src = home / "src" / "foo"
    src.mkdir(parents=True)
    tag = uuid.uuid4().hex[:6]
    make, compiler = f"sdmake{tag}", f"sdcc{tag}"
    shutil.copy2("/usr/bin/make", src / make)
    named_binary(src, compiler)
    (src / "Makefile").write_text(f"all:\n\t./{compiler} -c 'sleep 600'\n")
    proc = subprocess.Popen(
        ["timeout", "600", f"./{make}", "-j8"],
        cwd=src,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        preexec_fn=undemoted,
    )
    return Build(proc, make, compiler)


def undemoted() -> None:
    """What a terminal would start: nice 0 and SCHED_OTHER, not the demotion this test runner may
    carry from another agent's helper (which ours would read as the person's own nice)."""
    os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
    os.setpriority(os.PRIO_PROCESS, 0, 0)


def test_a_build_is_named_by_its_command_and_expands_to_its_compiler(
    qtbot: QtBot, user_helper: UserHelper, user_dirs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(user_dirs))
    conn = connect(qtbot, user_helper.bus)
    window = AppsWindow(conn, entries=DesktopEntries([]))
    qtbot.addWidget(window)
    window.destroyed.connect(conn.stop)
    tag = uuid.uuid4().hex[:6]
    build = start_build(user_dirs / tag)
    try:
        check_build(qtbot, window, user_helper, build, f"~/{tag}/src/foo")
    finally:
        stop(build.proc)


def check_build(qtbot: QtBot, window: AppsWindow, helper: UserHelper, build: Build, where: str) -> None:
    saved: list[str] = []
    rule = {"name": build.compiler, "type": "compiler", "class": "background"}
    window.conn.call("add_rule", rule, on_done=saved.append)
    qtbot.waitUntil(lambda: bool(saved), timeout=TIMEOUT)
    window.show()

    def the_build() -> dict[str, Any] | None:
        rows = [window.model.app(r) for r in range(window.model.rowCount())]
        return next((a for a in rows if a["id"].endswith(f":{build.proc.pid}")), None)

    def compiler_listed() -> bool:
        app = the_build()
        return app is not None and any(m["class"] == "background" for m in app.get("members", []))

    try:
        qtbot.waitUntil(compiler_listed, timeout=TIMEOUT)
    except Exception as exc:  # pytestqt's TimeoutError: say what the helper listed instead
        raise AssertionError(f"{the_build()}\n{helper.log.read_text()[-3000:]}") from exc
    app = the_build()
    assert app is not None
    app_id = app["id"]
    row = window.model.row_of(app_id)
    parent = window.model.index(row, NAME)
    assert parent.data() == f"{build.make} -j8 in {where}"
    assert app["command"] == ["timeout", "600", f"./{build.make}", "-j8"]
    assert "normal" in window.model.index(row, CLASS).data()  # the build's driver keeps the app's class
    assert window.expand_app(app_id)
    assert window.table.isExpanded(window.proxy.mapFromSource(parent))
    children = [
        [window.model.index(i, col, parent).data() for col in (NAME, CLASS, REASONS)]
        for i in range(window.model.rowCount(parent))
    ]
    compilers = [c for c in children if c[0].startswith("compiler (pid ")]
    assert compilers and all(c[1] == "background" for c in compilers), children
    # The compiler by its rule; the sleep it runs inherits the class from it.
    assert any(c[2].startswith(f"rule: {build.compiler} → compiler → background") for c in compilers), (
        children
    )
    assert all(c[2].endswith(f"({helper.dir / 'rules.toml'})") for c in compilers), children
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
    assert command_text(["bash", "/dev/fd/3"]) == "bash"
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
    # An interpreter's entry ("Python") does not name the script it runs.
    (data / "applications" / "python3.desktop").write_text(
        "[Desktop Entry]\nType=Application\nName=Python (v3)\nExec=python3\n"
    )
    model = AppsModel(DesktopEntries([data]))
    script = {"id": "tree:1:6", "name": "python3", "kind": "tree", "command": ["python3", "/x/train.py"]}
    model.set_apps([script, {"id": "tree:1:7", "name": "python3", "kind": "tree", "command": ["python3"]}])
    assert [model.index(i, NAME).data() for i in (0, 1)] == ["train.py", "Python (v3)"]
