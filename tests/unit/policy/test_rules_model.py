"""Rule matchers one by one (positive and negative), precedence, and the ananicy class table."""

from __future__ import annotations

from typing import Any

import pytest

from smoothdesk.core import PriorityClass, ProcessRecord
from smoothdesk.policy.errors import RuleError
from smoothdesk.policy.rule_parse import parse_toml_rules, rules_from_table
from smoothdesk.policy.rule_types import TAG_INTERACTIVE_CAPABLE, class_from_attrs
from smoothdesk.policy.ruleset import RuleSet, RuleSetBuilder


def proc(comm: str, exe: str = "", *cmdline: str, **kw: Any) -> ProcessRecord:
    kw.setdefault("pid", 4242)
    kw.setdefault("start_time", 777)
    return ProcessRecord(ppid=1, uid=1000, comm=comm, exe=exe, cmdline=cmdline, **kw)


def ruleset(toml: str) -> RuleSet:
    doc = parse_toml_rules(toml, "test.toml")
    assert doc.diagnostics == []
    builder = RuleSetBuilder()
    builder.add(doc)
    return builder.build()


def one(matcher: str) -> RuleSet:
    return ruleset(f'[[rule]]\n{matcher}\nclass = "background"\n')


# name


def test_name_matches_exe_base_name_and_comm() -> None:
    rs = one('name = "cc1plus"')
    assert rs.match(proc("cc1plus", "/usr/lib/gcc/x86_64-linux-gnu/12/cc1plus")) is not None
    assert rs.match(proc("cc1plus")) is not None  # exe unreadable: comm only
    assert rs.match(proc("renamed", "/usr/lib/gcc/x86_64-linux-gnu/12/cc1plus")) is not None
    assert rs.match(proc("cc1", "/usr/lib/gcc/x86_64-linux-gnu/12/cc1")) is None


def test_name_matches_comm_cut_at_15_characters() -> None:
    rs = one('name = "gnome-terminal-server"')
    assert rs.match(proc("gnome-terminal-")) is not None
    assert one('name = "gnome-terminal"').match(proc("gnome-terminal-")) is None
    assert rs.match(proc("gnome-terminal")) is None


def test_wine_exe_name_matches_comm_and_windows_cmdline() -> None:
    rs = one('name = "Game.exe"')
    wine = "/usr/bin/wine64-preloader"
    assert rs.match(proc("Game.exe", wine, "C:\\Games\\Game.exe")) is not None
    # comm renamed by the game, the Windows path in cmdline[0] still names it
    assert rs.match(proc("MainThrd", wine, "Z:\\home\\u\\Games\\Game.exe", "-dx12")) is not None
    assert rs.match(proc("GAME.EXE", wine)) is not None  # Windows names ignore case
    assert rs.match(proc("Game", wine, "C:\\Games\\Game")) is None
    assert rs.match(proc("Other.exe", wine, "C:\\Games\\Other.exe")) is None


def test_long_wine_name_matches_cut_comm() -> None:
    rs = one('name = "XERA-Win64-Shipping.exe"')
    assert rs.match(proc("XERA-Win64-Ship", "/usr/bin/wine64-preloader")) is not None
    assert rs.match(proc("XERA-Win64-Shop", "/usr/bin/wine64-preloader")) is None


# exe


def test_exe_exact_and_glob() -> None:
    exact = one('exe = "/usr/bin/python3.11"')
    assert exact.match(proc("x", "/usr/bin/python3.11")) is not None
    assert exact.match(proc("x", "/usr/bin/python3.11 (deleted)")) is not None
    assert exact.match(proc("x", "/usr/local/bin/python3.11")) is None
    glob = one('exe = "/opt/*/bin/java"')
    assert glob.match(proc("java", "/opt/jdk-21/bin/java")) is not None
    assert glob.match(proc("java", "/usr/bin/java")) is None


# cmdline


def test_cmdline_regex_searches_joined_cmdline() -> None:
    rs = one('cmdline = "^python3? .*manage\\\\.py runserver"')
    assert rs.match(proc("python3", "/usr/bin/python3.11", "python3", "manage.py", "runserver")) is not None
    assert rs.match(proc("python3", "/usr/bin/python3.11", "python3", "manage.py", "migrate")) is None
    assert rs.match(proc("python3", "/usr/bin/python3.11", "python3", "managexpy", "runserver")) is None


def test_cmdline_pattern_is_capped_and_validated() -> None:
    with pytest.raises(RuleError, match="at most 512"):
        rules_from_table({"cmdline": "a" * 513, "class": "idle"}, "f.toml", 3)
    with pytest.raises(RuleError, match="invalid cmdline regex") as info:
        rules_from_table({"cmdline": "(unclosed", "class": "idle"}, "f.toml", 7)
    assert (info.value.path, info.value.line) == ("f.toml", 7)


# cgroup and unit


def test_cgroup_glob() -> None:
    rs = one('cgroup = "/user.slice/*/app-org.gnome.Builder-*.scope"')
    builder = "/user.slice/user-1000.slice/app-org.gnome.Builder-1234.scope"
    assert rs.match(proc("x", cgroup=builder)) is not None
    assert rs.match(proc("x", cgroup="/user.slice/user-1000.slice/session-2.scope")) is None


def test_unit_glob() -> None:
    rs = one('unit = "app-flatpak-*.scope"')
    assert rs.match(proc("x", unit="app-flatpak-org.gimp.GIMP-99.scope")) is not None
    assert rs.match(proc("x", unit="session-2.scope")) is None
    assert rs.match(proc("x", unit=None)) is None


# parent and ancestor


def test_parent_is_the_direct_parent_only() -> None:
    rs = one('parent = "make"')
    make, bash = proc("make", "/usr/bin/make", pid=10), proc("bash", "/usr/bin/bash", pid=9)
    assert rs.match(proc("cc1"), [make, bash]) is not None
    assert rs.match(proc("cc1"), [bash, make]) is None
    assert rs.match(proc("cc1"), []) is None


def test_ancestor_is_any_ancestor_and_allows_cut_comm() -> None:
    rs = one('ancestor = "unattended-upgrade"')
    upgrader = proc("unattended-upgr", "/usr/bin/python3.11", pid=5)
    assert rs.match(proc("dpkg"), [proc("apt-get", pid=6), upgrader]) is not None
    assert rs.match(proc("dpkg"), [proc("apt-get", pid=6), proc("bash", pid=3)]) is None


def test_ancestors_are_read_only_when_a_rule_needs_them() -> None:
    calls: list[int] = []

    def chain() -> list[ProcessRecord]:
        calls.append(1)
        return [proc("make", pid=2)]

    assert one('name = "cc1"').match(proc("cc1"), chain) is not None
    assert calls == []
    assert one('parent = "make"').match(proc("cc1"), chain) is not None
    assert calls == [1]


def test_all_matchers_of_a_rule_must_match() -> None:
    rs = ruleset('[[rule]]\nname = "cmake"\ncmdline = "--build"\ntype = "build"\n')
    assert rs.match(proc("cmake", "/usr/bin/cmake", "cmake", "--build", ".")) is not None
    assert rs.match(proc("cmake", "/usr/bin/cmake", "cmake", "-G", "Ninja")) is None
    assert rs.match(proc("ccmake", "/usr/bin/ccmake", "ccmake", "--build")) is None


# precedence


def test_latest_matching_rule_wins_name_or_not() -> None:
    name_rule = '[[rule]]\nname = "python3"\nclass = "background"\n'
    cmd_rule = '[[rule]]\ncmdline = "runserver"\nclass = "interactive"\n'
    server = proc("python3", "/usr/bin/python3", "python3", "manage.py", "runserver")
    assert ruleset(name_rule + cmd_rule).classify(server).klass is PriorityClass.INTERACTIVE  # type: ignore[union-attr]
    assert ruleset(cmd_rule + name_rule).classify(server).klass is PriorityClass.BACKGROUND  # type: ignore[union-attr]


def test_class_wins_over_the_type_and_type_gives_tags() -> None:
    rs = ruleset(
        '[[rule]]\nname = "firefox"\ntype = "browser"\n'
        '[[rule]]\nname = "kitty"\ntype = "terminal"\nclass = "interactive"\n'
    )
    firefox = rs.classify(proc("firefox"))
    kitty = rs.classify(proc("kitty"))
    assert firefox is not None and kitty is not None
    assert (firefox.type, firefox.klass) == ("browser", PriorityClass.NORMAL)
    assert TAG_INTERACTIVE_CAPABLE in rs.tags(firefox.type)
    assert (kitty.type, kitty.klass) == ("terminal", PriorityClass.INTERACTIVE)
    assert firefox.source == "test.toml:1" and kitty.source == "test.toml:4"


@pytest.mark.parametrize(
    ("attrs", "expected"),
    [
        ({"nice": 19, "sched": "idle", "ioclass": "idle"}, PriorityClass.IDLE),
        ({"nice": 19, "ioclass": "best-effort"}, PriorityClass.BACKGROUND),
        ({"nice": 10}, PriorityClass.BACKGROUND),
        ({"nice": 9}, PriorityClass.NORMAL),
        ({"sched": "batch"}, PriorityClass.BACKGROUND),
        ({"nice": -4}, PriorityClass.NORMAL),
        ({"nice": -5}, PriorityClass.INTERACTIVE),
        ({"nice": -20}, PriorityClass.INTERACTIVE),  # never above interactive from nice alone
        ({"sched": "rr"}, PriorityClass.CRITICAL),
        ({"sched": "fifo", "rtprio": 50}, PriorityClass.CRITICAL),
        ({"oom_score_adj": 1000}, None),
    ],
)
def test_class_from_ananicy_values(attrs: dict[str, Any], expected: PriorityClass | None) -> None:
    assert class_from_attrs(attrs) is expected
