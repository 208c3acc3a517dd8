"""The rules window against a real user-mode helper: validation, add/delete, preview, import."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from smoothdesk.dbus.client import HelperClient
from smoothdesk.dbus.client import connect as connect_bus
from smoothdesk.gui.connection import HelperConnection
from smoothdesk.gui.rule_match import preview
from smoothdesk.gui.rules_model import LABEL, LAYER, LAYER_ROLE, MATCH, RUNNING, SOURCE
from smoothdesk.gui.rules_window import RulesWindow, import_summary
from tests.gui.live import ANANICY, TIMEOUT, LiveHelper, connect, live_helper
from tests.support.procs import named_binary, stop, wait_for


@pytest.fixture
def helper(bus_address: str, tmp_path: Path) -> Iterator[LiveHelper]:
    with live_helper(bus_address, tmp_path, dry_run=True) as h:
        yield h


@pytest.fixture
def window(qtbot: QtBot, helper: LiveHelper) -> Iterator[RulesWindow]:
    conn = connect(qtbot, helper.bus)
    w = RulesWindow(conn)
    qtbot.addWidget(w)
    try:
        w.show()
        qtbot.waitUntil(lambda: w.model.rowCount() > 0 and bool(w.model.apps), timeout=TIMEOUT)
        yield w
    finally:
        w.hide()
        conn.stop()


@pytest.fixture
def sleeper(tmp_path: Path, helper: LiveHelper) -> Iterator[str]:
    name = f"sdr{uuid.uuid4().hex[:8]}"
    proc = subprocess.Popen([str(named_binary(tmp_path, name)), "-c", "sleep 600"], start_new_session=True)
    try:
        # The helper reads it on its exec event, which a ListApps sent at once may overtake.
        assert wait_for(lambda: name in listed(helper.bus), 10)
        yield name
    finally:
        stop(proc)


def listed(bus: str) -> set[str]:
    async def ask() -> set[str]:
        client = HelperClient(await connect_bus(bus))
        try:
            return {a["name"] for a in await client.apps()}
        finally:
            client.bus.disconnect()
            await client.bus.wait_for_disconnect()  # type: ignore[no-untyped-call]

    return asyncio.run(ask())


def test_inline_errors_name_the_field(qtbot: QtBot, window: RulesWindow) -> None:
    form = window.form
    form.edits["name"].setText("make")
    form.edits["cmdline"].setText("build(")
    label = form.error_labels["cmdline"]
    assert not label.isHidden() and label.text().startswith("cmdline: not a valid regular expression")
    assert "color:#b00020" in label.styleSheet()
    assert not window.save_button.isEnabled()
    form.edits["cmdline"].setText("(a+)+")
    assert "nested repetition" in label.text()
    form.edits["cmdline"].setText("make -j")
    assert label.isHidden()
    assert "needs a class or a type" in form.error_labels["rule"].text()
    form.klass.setCurrentIndex(form.klass.findData("background"))
    assert form.valid and window.save_button.isEnabled()
    assert all(lbl.isHidden() or not lbl.text() for lbl in form.error_labels.values())


def test_add_and_delete_round_trip(
    qtbot: QtBot, window: RulesWindow, helper: LiveHelper, sleeper: str
) -> None:
    form = window.form
    form.edits["name"].setText(sleeper)
    form.klass.setCurrentIndex(form.klass.findData("idle"))
    window.save_button.click()
    qtbot.waitUntil(lambda: window.model.row_of({"name": sleeper}) >= 0, timeout=TIMEOUT)
    row = window.model.row_of({"name": sleeper})
    rule = window.model.rules[row]
    assert rule["class"] == "idle" and rule["source"].startswith(str(helper.rules_file))
    assert window.model.index(row, LAYER).data() == "Yours"
    assert sleeper in helper.rules_file.read_text()
    # The running column counts the spawned process once the helper classes it by this rule.
    qtbot.waitUntil(
        lambda: window.model.index(window.model.row_of({"name": sleeper}), RUNNING).data() == "1",
        timeout=TIMEOUT,
    )
    assert sleeper in window.model.index(window.model.row_of({"name": sleeper}), RUNNING).data(3)
    window.table.selectRow(window.model.row_of({"name": sleeper}))
    window.delete_selected()
    qtbot.waitUntil(lambda: window.model.row_of({"name": sleeper}) < 0, timeout=TIMEOUT)
    assert window.banner.text() == "Deleted 1 rule(s)."
    assert sleeper not in helper.rules_file.read_text()


def test_deleting_a_system_rule_is_refused_and_explained(qtbot: QtBot, window: RulesWindow) -> None:
    row = next(i for i, r in enumerate(window.model.rules) if window.model.index(i, LAYER).data() == "System")
    before = len(window.model.rules)
    window.table.selectRow(row)
    window.delete_selected()
    qtbot.waitUntil(lambda: window.banner.kind == "error", timeout=TIMEOUT)
    assert "only rules in your own rules file" in window.banner.text()
    assert len(window.model.rules) == before


def test_test_against_running_shows_the_spawned_process(
    qtbot: QtBot, window: RulesWindow, sleeper: str
) -> None:
    window.form.edits["name"].setText(sleeper)
    window.form.edits["cmdline"].setText("sleep")
    window.test_button.click()
    qtbot.waitUntil(lambda: window.last_preview is not None, timeout=TIMEOUT)
    assert window.last_preview is not None and window.last_preview.names() == [sleeper]
    text = window.test_result.text()
    assert f"Matches 1 running app(s): {sleeper}" in text
    # ListApps carries no command lines: the preview says so rather than pretending.
    assert "matched on name" in text and "not checked" in text and "cmdline" in text


def test_preview_checks_what_the_rows_carry() -> None:
    apps: list[dict[str, Any]] = [
        {"name": "firefox", "unit": "app-firefox-12.scope"},
        {"name": "cc1plus", "unit": "", "exe": "/usr/lib/gcc/cc1plus", "cmdline": ["cc1plus", "-O2"]},
        {"name": "a-very-long-nam", "unit": ""},
    ]
    assert preview({"name": "firefox"}, apps).names() == ["firefox"]
    assert preview({"unit": "app-firefox-*.scope"}, apps).names() == ["firefox"]
    p = preview({"exe": "/usr/lib/gcc/*", "cmdline": "-O[0-3]"}, apps)
    assert p.names() == ["cc1plus"] and p.checked == ["exe", "cmdline"] and p.unchecked == []
    assert preview({"name": "a-very-long-name-indeed"}, apps).names() == ["a-very-long-nam"]
    nothing = preview({"parent": "bash"}, apps)
    assert nothing.names() == [] and nothing.note().startswith("cannot test")


def test_import_ananicy_shows_progress_then_a_summary(qtbot: QtBot, window: RulesWindow) -> None:
    before = len(window.model.rules)
    window.import_ananicy(str(ANANICY))
    assert window.progress is not None and window.progress.isVisible()
    qtbot.waitUntil(lambda: window.progress is None, timeout=TIMEOUT)
    text = window.banner.text()
    assert window.banner.kind == "info" and text.startswith(f"Imported {ANANICY.resolve()}:")
    rules = int(text.split(": ", 1)[1].split(" rules")[0])
    assert rules > 0
    qtbot.waitUntil(lambda: len(window.model.rules) > before, timeout=TIMEOUT)
    layers = {window.model.index(i, LAYER).data() for i in range(window.model.rowCount())}
    assert "Ananicy import" in layers


def test_import_outside_the_allowed_roots_is_refused(
    qtbot: QtBot, window: RulesWindow, tmp_path: Path
) -> None:
    before = len(window.model.rules)
    window.import_ananicy(str(tmp_path))
    qtbot.waitUntil(lambda: window.progress is None, timeout=TIMEOUT)
    assert window.banner.kind == "error" and "not under an allowed root" in window.banner.text()
    assert len(window.model.rules) == before


SHIPPED = Path(__file__).resolve().parents[2] / "resources" / "rules.d"


def test_one_row_per_rule_not_per_name(qtbot: QtBot, window: RulesWindow) -> None:
    """The shipped files' [[rule]] tables are the rows; their ~100 process names are not."""
    import tomllib

    written = [
        (f.name, r) for f in sorted(SHIPPED.glob("*.toml")) for r in tomllib.loads(f.read_text())["rule"]
    ]
    names = sum(len(r["name"]) if isinstance(r.get("name"), list) else 1 for _, r in written)
    model = window.model
    system = [i for i in range(model.rowCount()) if model.index(i, 0).data(LAYER_ROLE) == "system"]
    assert len(system) == len(written)
    assert model.entry_count >= names > 2 * len(written)  # the listing really is per name
    compiler = next(i for i in system if model.index(i, LABEL).data() == "compiler")
    assert model.index(compiler, MATCH).data().startswith("names cc1, cc1plus, cc1obj, cc1objplus +")
    assert model.index(compiler, SOURCE).data().startswith("10-build.toml:")
    tooltip = model.index(compiler, SOURCE).data(3)
    assert tooltip.startswith(str(SHIPPED.resolve()))  # the full path
    assert all("/" not in model.index(i, SOURCE).data() for i in range(model.rowCount()))


def test_search_and_layer_filter(qtbot: QtBot, window: RulesWindow) -> None:
    total = window.proxy.rowCount()
    window.search.setText("cc1plus")
    shown = [window.proxy.index(i, LABEL).data() for i in range(window.proxy.rowCount())]
    assert shown == ["compiler"]
    assert window.count_label.text().startswith(f"1 of {total} rules")
    window.search.clear()
    window.layer_filter.setCurrentIndex(window.layer_filter.findData("user"))
    assert window.proxy.rowCount() == 0  # this test's helper has no rules of the person's own
    window.layer_filter.setCurrentIndex(window.layer_filter.findData("system"))
    assert 0 < window.proxy.rowCount() <= total


def test_import_summary_says_what_was_skipped_and_why(qtbot: QtBot, bus_address: str, tmp_path: Path) -> None:
    """The helper only counts what it skipped; the window asks `smoothdeskctl rules check` why."""
    (tmp_path / "bad.rules").write_text('{"name": "ok1", "type": "BG_CPUIO"}\n{"name": broken\n')
    summary = {"path": str(tmp_path), "rules": 1, "errors": 1, "warnings": 0, "total_rules": 9}
    window = RulesWindow(HelperConnection(bus_address))  # never started: nothing is called
    qtbot.addWidget(window)
    window.banner.info(import_summary(summary))
    assert window.banner.text().startswith(f"Imported {tmp_path}: 1 rules, 1 skipped.")
    window.explain_skipped(summary)
    qtbot.waitUntil(lambda: "bad.rules:2: malformed line" in window.banner.text(), timeout=TIMEOUT)
    assert window.banner.text().startswith(f"Imported {tmp_path}: 1 rules, 1 skipped (bad.rules:2: malformed")
