"""Rule files on disk: layering, name order, bad files, and the default rule set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from smoothdesk.config import rules_files
from smoothdesk.config.rules_files import check_rules, default_rule_dirs, load_rules
from smoothdesk.core import PriorityClass, ProcessRecord
from smoothdesk.policy.rule_types import TAG_INTERACTIVE_CAPABLE
from smoothdesk.policy.rules import Severity

REPO = Path(__file__).resolve().parents[3]
CACHYOS = REPO / "tests" / "data" / "ananicy" / "cachyos"


def proc(comm: str, exe: str = "", *cmdline: str, **kw: Any) -> ProcessRecord:
    kw.setdefault("pid", 300)
    return ProcessRecord(ppid=1, uid=1000, comm=comm, start_time=5, exe=exe, cmdline=cmdline, **kw)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_later_layer_overrides_earlier_and_source_says_where(tmp_path: Path) -> None:
    vendor, admin, user = tmp_path / "usr", tmp_path / "etc", tmp_path / "home"
    write(vendor / "10-a.toml", '[[rule]]\nname = "blender"\nclass = "background"\n')
    write(admin / "10-a.toml", '[[rule]]\nname = "other"\nclass = "idle"\n')
    user_file = write(user / "90-user.toml", '\n[[rule]]\nname = "blender"\nclass = "interactive"\n')
    result = load_rules([vendor, admin, user])
    assert result.diagnostics == []
    c = result.ruleset.classify(proc("blender"))
    assert c is not None
    assert (c.klass, c.source) == (PriorityClass.INTERACTIVE, f"{user_file}:2")
    only_vendor = load_rules([vendor, admin]).ruleset.classify(proc("blender"))
    assert only_vendor is not None and only_vendor.klass is PriorityClass.BACKGROUND


def test_files_in_a_layer_load_in_name_order(tmp_path: Path) -> None:
    # Written in reverse so that directory order and name order differ on most filesystems.
    write(tmp_path / "20-late.toml", '[[rule]]\nname = "gimp"\nclass = "idle"\n')
    write(tmp_path / "10-early.toml", '[[rule]]\nname = "gimp"\nclass = "background"\n')
    write(tmp_path / "15-ignored.txt", '[[rule]]\nname = "gimp"\nclass = "critical"\n')
    result = load_rules([tmp_path])
    c = result.ruleset.classify(proc("gimp"))
    assert c is not None and c.klass is PriorityClass.IDLE
    assert c.source.endswith("20-late.toml:1")
    assert [p.name for p in result.files] == ["10-early.toml", "20-late.toml"]


def test_type_redefined_in_a_later_layer(tmp_path: Path) -> None:
    write(tmp_path / "a" / "r.toml", '[[rule]]\nname = "cc1"\ntype = "compiler"\n')
    write(tmp_path / "b" / "t.toml", '[types.compiler]\nclass = "idle"\n')
    before = load_rules([tmp_path / "a"]).ruleset.classify(proc("cc1"))
    after = load_rules([tmp_path / "a", tmp_path / "b"]).ruleset.classify(proc("cc1"))
    assert before is not None and before.klass is PriorityClass.BACKGROUND
    assert after is not None and after.klass is PriorityClass.IDLE


def test_syntax_error_skips_that_file_only(tmp_path: Path) -> None:
    write(tmp_path / "10-good.toml", '[[rule]]\nname = "inkscape"\nclass = "background"\n')
    bad = write(tmp_path / "20-bad.toml", '[[rule]]\nname = "krita"\nclass = background\n')
    write(tmp_path / "30-good.toml", '[[rule]]\nname = "gimp"\nclass = "idle"\n')
    result = load_rules([tmp_path])
    assert [(d.path, d.line, d.severity) for d in result.diagnostics] == [(str(bad), 3, Severity.ERROR)]
    assert not result.ok
    assert result.ruleset.classify(proc("inkscape")) is not None
    assert result.ruleset.classify(proc("gimp")) is not None
    assert result.ruleset.classify(proc("krita")) is None


def test_unknown_type_warns_with_file_and_line_and_skips_the_rule(tmp_path: Path) -> None:
    path = write(
        tmp_path / "r.toml",
        '[[rule]]\nname = "a"\ntype = "compiler"\n\n[[rule]]\nname = "b"\ntype = "nosuch"\n',
    )
    result = load_rules([tmp_path])
    (diag,) = result.diagnostics
    assert (diag.path, diag.line, diag.severity) == (str(path), 5, Severity.WARNING)
    assert "nosuch" in diag.message
    assert result.ok  # a warning loses one rule, not the file
    assert result.ruleset.classify(proc("b")) is None
    assert result.ruleset.classify(proc("a")) is not None


def test_invalid_utf8_costs_only_its_line(tmp_path: Path) -> None:
    path = tmp_path / "enc.rules"
    path.write_bytes(
        b'{ "name": "one", "type": "Heavy_CPU" }\n{ "name": "t\xffo", "type": "Heavy_CPU" }\n'
        b'{ "name": "three", "type": "Heavy_CPU" }\n'
    )
    result = load_rules([], [tmp_path])
    assert [(d.line, d.severity) for d in result.diagnostics] == [(2, Severity.ERROR)]
    assert result.ruleset.classify(proc("three")) is not None


def test_default_dirs_fall_back_to_the_repository(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(rules_files, "VENDOR_RULES_DIR", tmp_path / "absent")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    system = default_rule_dirs(user_mode=False)
    assert system == [REPO / "resources" / "rules.d", Path("/etc/smoothdesk/rules.d")]
    assert default_rule_dirs(user_mode=True) == [*system, tmp_path / "cfg" / "smoothdesk" / "rules.d"]
    monkeypatch.setattr(rules_files, "VENDOR_RULES_DIR", tmp_path)
    assert default_rule_dirs(user_mode=False)[0] == tmp_path


@pytest.fixture(scope="module")
def defaults() -> rules_files.LoadResult:
    return load_rules([REPO / "resources" / "rules.d"])


def test_default_rule_set_loads_cleanly(defaults: rules_files.LoadResult) -> None:
    assert defaults.diagnostics == []
    assert len(defaults.files) >= 4


@pytest.mark.parametrize(
    ("record", "klass", "type_name"),
    [
        (proc("cc1plus", "/usr/lib/gcc/x86_64-linux-gnu/12/cc1plus"), "background", "compiler"),
        (proc("ld.lld", "/usr/bin/ld.lld"), "background", "compiler"),
        (proc("cc", "/usr/bin/x86_64-linux-gnu-gcc-12", "cc", "-c", "x.c"), "background", "compiler"),
        (proc("ninja", "/usr/bin/ninja"), "background", "build"),
        (
            proc(
                "java",
                "/usr/lib/jvm/java-17/bin/java",
                "java",
                "-cp",
                "g.jar",
                "org.gradle.launcher.daemon.bootstrap.GradleDaemon",
                "8.5",
            ),
            "background",
            "build",
        ),
        (
            proc("node", "/usr/bin/node", "node", "/p/node_modules/.bin/webpack", "--mode=prod"),
            "background",
            "build",
        ),
        (proc("xz", "/usr/bin/xz"), "background", "compressor"),
        (proc("tracker-miner-f", "/usr/libexec/tracker-miner-fs-3"), "idle", "indexer"),
        (proc("restic", "/usr/bin/restic"), "idle", "backup"),
        (proc("apt-get", "/usr/bin/apt-get"), "background", "package-manager"),
        (proc("packagekitd", "/usr/libexec/packagekitd"), "idle", "updater"),
        (proc("firefox-esr", "/usr/lib/firefox-esr/firefox-esr"), "normal", "browser"),
        (proc("Isolated Web Co", "/usr/lib/firefox-esr/firefox-esr"), "normal", "browser"),
        (proc("gnome-terminal-", "/usr/libexec/gnome-terminal-server"), "normal", "terminal"),
        (proc("nvim", "/usr/bin/nvim"), "normal", "editor"),
        (proc("pipewire", "/usr/bin/pipewire"), "critical", "audio"),
        (proc("kwin_wayland", "/usr/bin/kwin_wayland"), "critical", "compositor"),
        (proc("Xorg", "/usr/lib/xorg/Xorg"), "critical", "compositor"),
        (proc("python3", "/usr/bin/python3.11", "python3", "app.py"), None, None),
    ],
)
def test_default_rules_classify_known_programs(
    defaults: rules_files.LoadResult, record: ProcessRecord, klass: str | None, type_name: str | None
) -> None:
    c = defaults.ruleset.classify(record)
    if klass is None:
        assert c is None
        return
    assert c is not None
    assert (c.klass.value, c.type) == (klass, type_name)


def test_default_browsers_are_interactive_capable_not_interactive(
    defaults: rules_files.LoadResult,
) -> None:
    c = defaults.ruleset.classify(proc("chromium", "/usr/lib/chromium/chromium"))
    assert c is not None and c.klass is PriorityClass.NORMAL
    assert TAG_INTERACTIVE_CAPABLE in defaults.ruleset.tags(c.type)


def test_dpkg_under_unattended_upgrade_is_idle(defaults: rules_files.LoadResult) -> None:
    dpkg = proc("dpkg", "/usr/bin/dpkg")
    upgrader = proc("unattended-upgr", "/usr/bin/python3.11", pid=50)
    shell = proc("bash", "/usr/bin/bash", pid=40)
    by_person = defaults.ruleset.classify(dpkg, [proc("apt", "/usr/bin/apt", pid=41), shell])
    unattended = defaults.ruleset.classify(dpkg, [proc("apt-get", pid=51), upgrader])
    assert by_person is not None and by_person.klass is PriorityClass.BACKGROUND
    assert unattended is not None and unattended.klass is PriorityClass.IDLE


def test_own_rules_override_ananicy_for_the_same_process() -> None:
    firefox = proc("firefox", "/usr/lib/firefox/firefox")
    ananicy_only = load_rules([], [CACHYOS]).ruleset.classify(firefox)
    merged = load_rules([REPO / "resources" / "rules.d"], [CACHYOS]).ruleset.classify(firefox)
    assert ananicy_only is not None and ananicy_only.type == "Doc-View"
    assert merged is not None and merged.type == "browser"
    assert "resources/rules.d/30-desktop.toml" in merged.source


def test_check_rules_reports_per_file(tmp_path: Path) -> None:
    write(tmp_path / "own" / "a.toml", '[[rule]]\nname = "x"\nclass = "nope"\n')
    write(tmp_path / "ana" / "a.rules", '{ "name": "y", "type": "Unknown_T" }\n')
    report = check_rules([tmp_path / "own"], [tmp_path / "ana"])
    lines = [str(d) for d in report.diagnostics]
    assert lines[0].startswith(f"{tmp_path / 'own' / 'a.toml'}:3: error:")
    assert lines[1].startswith(f"{tmp_path / 'ana' / 'a.rules'}:1: warning: unknown type")
    assert report.summary().endswith("1 errors, 1 warnings")
