"""ananicy-cpp import: the real CachyOS files, malformed lines, types, and last-wins order."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from smoothdesk.config.rules_files import ananicy_files, load_rules
from smoothdesk.core import PriorityClass, ProcessRecord
from smoothdesk.policy.ananicy import parse_ananicy
from smoothdesk.policy.rule_types import TAG_INTERACTIVE_CAPABLE
from smoothdesk.policy.rules import Severity

CACHYOS = Path(__file__).resolve().parents[3] / "tests" / "data" / "ananicy" / "cachyos"


def proc(comm: str, exe: str = "", *cmdline: str, **kw: Any) -> ProcessRecord:
    return ProcessRecord(pid=9, ppid=1, uid=1000, comm=comm, start_time=3, exe=exe, cmdline=cmdline, **kw)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def cachyos() -> Any:
    return load_rules([], [CACHYOS])


def test_real_cachyos_files_load_without_a_problem(cachyos: Any) -> None:
    files = ananicy_files(CACHYOS)
    assert cachyos.files == files
    assert {p.suffix for p in files} == {".rules", ".types", ".cgroups"}
    assert [d for d in cachyos.diagnostics if d.severity is not Severity.INFO] == []
    objects = [
        json.loads(line)
        for p in files
        if p.suffix == ".rules"
        for line in p.read_text().splitlines()
        if line.strip().startswith("{")
    ]
    assert len(cachyos.ruleset) == len({o["name"] for o in objects})


def test_real_types_and_cgroups_are_read(cachyos: Any) -> None:
    types_file = CACHYOS / "00-types.types"
    names = [json.loads(ln)["type"] for ln in types_file.read_text().splitlines() if ln.startswith("{")]
    for name in names:
        assert name.lower() in cachyos.ruleset.types
    quotas = {n: cg.cpu_quota for n, cg in cachyos.ruleset.cgroups.items()}
    assert quotas == {"cpu90": 90, "cpu85": 85, "cpu80": 80}


@pytest.mark.parametrize(
    ("record", "type_name", "klass"),
    [
        (proc("ccache", "/usr/bin/ccache"), "BG_CPUIO", PriorityClass.BACKGROUND),
        (proc("firefox", "/usr/lib/firefox/firefox"), "Doc-View", PriorityClass.NORMAL),
        (
            proc("chrome_crashpad", "/opt/google/chrome/chrome_crashpad_handler"),
            "BG_CPUIO",
            PriorityClass.BACKGROUND,
        ),
        (proc("nautilus", "/usr/bin/nautilus"), "LowLatency_RT", PriorityClass.INTERACTIVE),
        (proc("gsd-media-keys", "/usr/libexec/gsd-media-keys"), "Service", PriorityClass.NORMAL),
        (proc("eog", "/usr/bin/eog"), "Image-View", PriorityClass.NORMAL),
        (proc("Discord", "/opt/discord/Discord"), "Chat", PriorityClass.NORMAL),
        # "type": "chat" in the real file: type names are case-insensitive
        (proc("DiscordDevelopm", "/opt/dd/DiscordDevelopment"), "Chat", PriorityClass.NORMAL),
        # no type, only "sched": "rr"
        (proc("pipewire", "/usr/bin/pipewire"), "", PriorityClass.CRITICAL),
        (proc("X4.exe", "/usr/bin/wine64-preloader", "Z:\\games\\X4\\X4.exe"), "game", PriorityClass.NORMAL),
        (
            proc("wine64-preload", "/usr/bin/wine64-preloader", "C:\\XCOM\\Binaries\\XCom.exe"),
            "game",
            PriorityClass.NORMAL,
        ),
        # a name holding a path matches the executable path
        (proc("brave", "/usr/lib/brave-bin/brave"), "Doc-View", PriorityClass.NORMAL),
        (proc("gnome-calculato", "/usr/bin/gnome-calculator"), None, None),
    ],
)
def test_real_rules_classify_known_names(
    cachyos: Any, record: ProcessRecord, type_name: str | None, klass: PriorityClass | None
) -> None:
    c = cachyos.ruleset.classify(record)
    if klass is None:
        assert c is None
        return
    assert c is not None
    assert (c.type, c.klass) == (type_name, klass)
    assert c.source.startswith(str(CACHYOS))


def test_real_browser_type_is_interactive_capable(cachyos: Any) -> None:
    c = cachyos.ruleset.classify(proc("vivaldi", "/opt/vivaldi/vivaldi"))
    assert c is not None and TAG_INTERACTIVE_CAPABLE in cachyos.ruleset.tags(c.type)
    assert c.source.endswith("browsers.rules:25")


def test_malformed_lines_are_reported_and_the_rest_loads() -> None:
    text = (
        "# comment\n"
        '{ "name": "one", "type": "BG_CPUIO" }\n'
        '{ "name": "two", "type": "BG_CPUIO"\n'  # line 3: unclosed
        "\n"
        '{ "name": "three", "type": "BG_CPUIO" } # trailing comment is fine\n'
        '{ "name": "four", "type": "BG_CPUIO" } garbage\n'  # line 6
        '["not", "an", "object"]\n'  # line 7
        '{ "name": "five", "nice": "low" }\n'  # line 8
        '{ "name": "six", "nice": 40 }\n'  # line 9
        '{ "type": "BG_CPUIO" }\n'  # line 10: no name
        '{ "name": "seven", "nice": 12, "ioclass": "idle" }\n'
    )
    doc = parse_ananicy(text, "/etc/ananicy.d/x.rules")
    assert [(d.path, d.line) for d in doc.diagnostics] == [
        ("/etc/ananicy.d/x.rules", n) for n in (3, 6, 7, 8, 9, 10)
    ]
    assert all(d.severity is Severity.ERROR for d in doc.diagnostics)
    assert [r.name for r in doc.rules] == ["one", "three", "seven"]
    assert doc.rules[2].klass is PriorityClass.BACKGROUND
    assert dict(doc.rules[2].attrs) == {"nice": 12, "ioclass": "idle"}


def test_untyped_rules_get_a_class_from_their_values(tmp_path: Path) -> None:
    write(
        tmp_path / "u.rules",
        '{ "name": "boost", "nice": -15 }\n{ "name": "hog", "nice": 19, "sched": "idle", '
        '"ioclass": "idle" }\n{ "name": "oomonly", "oom_score_adj": 500 }\n',
    )
    result = load_rules([], [tmp_path])
    boost = result.ruleset.classify(proc("boost"))
    hog = result.ruleset.classify(proc("hog"))
    assert boost is not None and boost.klass is PriorityClass.INTERACTIVE
    assert hog is not None and hog.klass is PriorityClass.IDLE
    assert result.ruleset.classify(proc("oomonly")) is None
    assert [(d.line, d.severity) for d in result.diagnostics] == [(3, Severity.INFO)]


def test_unknown_types_defined_in_a_types_file_get_derived_classes(tmp_path: Path) -> None:
    write(
        tmp_path / "my.types",
        '{ "type": "Crunch", "nice": 15, "sched": "batch" }\n'
        '{ "type": "Snappy", "nice": -19, "ioclass": "realtime" }\n',
    )
    write(
        tmp_path / "my.rules",
        '{ "name": "crunch", "type": "Crunch" }\n{ "name": "snappy", "type": "Snappy" }\n',
    )
    rs = load_rules([], [tmp_path]).ruleset
    crunch, snappy = rs.classify(proc("crunch")), rs.classify(proc("snappy"))
    assert crunch is not None and crunch.klass is PriorityClass.BACKGROUND
    assert snappy is not None and snappy.klass is PriorityClass.INTERACTIVE  # not critical


def test_unknown_type_warns_with_file_and_line(tmp_path: Path) -> None:
    rules = write(
        tmp_path / "a.rules", '{ "name": "ok", "type": "Game" }\n\n{ "name": "lost", "type": "NoSuchType" }\n'
    )
    result = load_rules([], [tmp_path])
    (diag,) = result.diagnostics
    assert (diag.path, diag.line, diag.severity) == (str(rules), 3, Severity.WARNING)
    assert "NoSuchType" in diag.message
    assert result.ruleset.classify(proc("lost")) is None
    assert result.ruleset.classify(proc("ok")) is not None


def test_last_definition_wins_in_sorted_path_order(tmp_path: Path) -> None:
    # Created in reverse order; sorted by relative path "a/..." loads before "b/...".
    write(tmp_path / "b" / "z.rules", '{ "name": "tool", "type": "Heavy_CPU" }\n')
    write(tmp_path / "a" / "z.rules", '{ "name": "tool", "type": "LowLatency_RT" }\n')
    write(tmp_path / "a" / "t.types", '{ "type": "Mine", "nice": 15 }\n')
    write(tmp_path / "b" / "t.types", '{ "type": "Mine", "nice": -10 }\n')
    write(tmp_path / "b" / "m.rules", '{ "name": "mine", "type": "Mine" }\n')
    write(tmp_path / "README.md", "not a rules file\n")
    result = load_rules([], [tmp_path])
    assert [p.relative_to(tmp_path).as_posix() for p in result.files] == [
        "a/t.types",
        "a/z.rules",
        "b/m.rules",
        "b/t.types",
        "b/z.rules",
    ]
    tool = result.ruleset.classify(proc("tool"))
    assert tool is not None and tool.type == "Heavy_CPU"
    assert tool.source == f"{tmp_path / 'b' / 'z.rules'}:1"
    mine = result.ruleset.classify(proc("mine"))
    assert mine is not None and mine.klass is PriorityClass.INTERACTIVE


def test_unknown_cgroup_is_a_warning_but_the_rule_stays(tmp_path: Path) -> None:
    write(tmp_path / "c.rules", '{ "name": "x", "type": "Game", "cgroup": "cpu42" }\n')
    result = load_rules([], [tmp_path])
    assert [(d.line, d.severity) for d in result.diagnostics] == [(1, Severity.WARNING)]
    assert result.ruleset.classify(proc("x")) is not None
