"""The GNOME Shell extension build (ESM and legacy from one source), the KWin script, and report parsing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from smoothdesk.agent.focus_shell import RECEIVER_IFACE, RECEIVER_NAME, RECEIVER_PATH, parse_report
from smoothdesk.agent.integration import MARKER, IntegrationError, build_extension
from smoothdesk.agent.state import Focus
from smoothdesk.config.resources import resource_dir
from tests.support.tools import needs

UUID = "smoothdesk-focus@smoothdesk.org"
GI = {
    "GI_TYPELIB_PATH": "/usr/lib/x86_64-linux-gnu/mutter-11:/usr/lib/gnome-shell",
    "LD_LIBRARY_PATH": "/usr/lib/x86_64-linux-gnu/mutter-11:/usr/lib/gnome-shell",
}
needs_gjs = needs([] if shutil.which("gjs") else ["gjs"], "loading the built extension with gjs")


@pytest.mark.parametrize(
    ("major", "versions"),
    [
        (43, ["43", "44"]),
        (44, ["43", "44"]),
        (45, ["45", "46", "47", "48", "49"]),
        (50, ["45", "46", "47", "48", "49", "50"]),
    ],
)
def test_one_reporter_goes_into_the_wrapper_of_each_generation(
    tmp_path: Path, major: int, versions: list[str]
) -> None:
    out = build_extension(tmp_path, major)
    assert out == tmp_path / UUID
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["uuid"] == UUID and meta["shell-version"] == versions
    js = (out / "extension.js").read_text()
    reporter = (resource_dir("gnome-shell") / "focus.js").read_text()
    assert js.count(reporter) == 1 and MARKER not in js
    if major >= 45:
        assert "import Gio from 'gi://Gio';" in js and "export default class" in js and "imports.gi" not in js
    else:
        assert "imports.gi" in js and "function init()" in js and "export " not in js and "import " not in js


def test_gnome_older_than_43_is_refused(tmp_path: Path) -> None:
    with pytest.raises(IntegrationError, match="older than 43"):
        build_extension(tmp_path, 42)


def _gjs(args: list[str], cwd: Path) -> str:
    done = subprocess.run(
        ["gjs", *args],
        cwd=cwd,
        env={**os.environ, **GI},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@needs_gjs
def test_the_esm_build_loads_as_a_module_and_constructs(tmp_path: Path) -> None:
    # GNOME 45's resource:///org/gnome/shell/extensions/extension.js exists only inside a 45+
    # shell; a stand-in base class lets plain gjs link and construct the module.
    ext = build_extension(tmp_path / "b", 45) / "extension.js"
    (tmp_path / "base.js").write_text("export class Extension { constructor(m) { this.metadata = m; } }\n")
    text = ext.read_text().replace(
        "resource:///org/gnome/shell/extensions/extension.js", f"file://{tmp_path}/base.js"
    )
    (tmp_path / "ext.js").write_text(text)
    (tmp_path / "run.js").write_text(
        f"import E from 'file://{tmp_path}/ext.js';\nconst e = new E({{uuid: 'u'}});\n"
        "print([typeof e.enable, typeof e.disable, e.metadata.uuid].join(' '));\n"
    )
    assert _gjs(["-m", str(tmp_path / "run.js")], tmp_path) == "function function u"


@needs_gjs
def test_the_legacy_build_loads_through_the_legacy_importer(tmp_path: Path) -> None:
    out = build_extension(tmp_path, 43)
    (tmp_path / "run.js").write_text(
        f"imports.searchPath.unshift('{out}');\nconst e = imports.extension.init();\n"
        "print([typeof e.enable, typeof e.disable].join(' '));\n"
    )
    assert _gjs([str(tmp_path / "run.js")], tmp_path) == "function function"


def test_extension_and_script_call_the_receiver_the_agent_owns() -> None:
    for path in (
        resource_dir("gnome-shell") / "focus.js",
        resource_dir("kwin") / "smoothdesk-focus/contents/code/main.js",
    ):
        text = path.read_text()
        for name in (RECEIVER_NAME, RECEIVER_PATH, RECEIVER_IFACE):
            assert f"{name}" in text, (path, name)
        assert "ReportFocus" in text
    meta = json.loads((resource_dir("kwin") / "smoothdesk-focus/metadata.json").read_text())
    assert meta["KPlugin"]["Id"] == "smoothdesk-focus" and meta["KPackageStructure"] == "KWin/Script"


@pytest.mark.parametrize(
    ("body", "focus"),
    [
        ([4321, "org.gnome.Terminal", False], Focus(4321, "org.gnome.Terminal")),
        (["4321", "xterm", True], Focus(4321, "xterm", xwayland=True)),  # KWin sends the pid as a string
        ([0, "", False], Focus()),
    ],
)
def test_reports_become_focus(body: list[object], focus: Focus) -> None:
    assert parse_report(body) == focus


def test_a_window_without_a_process_is_unknown_with_the_reason() -> None:
    got = parse_report([-1, "steam", True])
    assert (
        got.pid is None
        and got.reason == "the compositor names no process for the focused XWayland window (steam)"
    )


@pytest.mark.parametrize(
    ("body", "argument"),
    [
        ([True, "a", False], "pid"), (["12x", "a", False], "pid"), ([1 << 30, "a", False], "pid"),
        ([-2, "a", False], "pid"), ([5, 7, False], "app_id"), ([5, "a" * 600, False], "app_id"),
        ([5, "a", "yes"], "xwayland"), ([5, "a"], "3 arguments"),
    ],
)  # fmt: skip
def test_bad_reports_name_the_argument(body: list[object], argument: str) -> None:
    with pytest.raises(ValueError, match=argument):
        parse_report(body)
