"""The rule vocabulary in core: every side accepts exactly its keys and compares names as it does."""

from __future__ import annotations

import dataclasses
import re

import pytest

from smoothdesk.cli.main import build_parser
from smoothdesk.core.matchers import (
    CONDITION_KEYS,
    FILE_RULE_KEYS,
    MATCHER_KEYS,
    OUTCOME_KEYS,
    RULE_KEYS,
    name_in,
)
from smoothdesk.core.process import ProcessRecord
from smoothdesk.dbus import errors, rulecheck
from smoothdesk.gui.rule_match import preview
from smoothdesk.policy.errors import RuleError
from smoothdesk.policy.rule_parse import rules_from_table
from smoothdesk.policy.rules import Conditions, ProcFacts, Rule

VALUES = {
    "name": "cc1plus",
    "exe": "/usr/bin/cc1plus",
    "cmdline": "^cc1",
    "cgroup": "/user.slice/*",
    "unit": "app-*.scope",
    "parent": "make",
    "ancestor": "bash",
    "type": "compiler",
    "class": "background",
    "label": "C++ compiler",
}


def test_the_key_sets_are_built_from_the_matchers() -> None:
    assert set(VALUES) == FILE_RULE_KEYS
    assert MATCHER_KEYS[0] == "name"
    assert MATCHER_KEYS[1:] == CONDITION_KEYS
    assert {*MATCHER_KEYS, *OUTCOME_KEYS} == RULE_KEYS
    assert {"label"} == FILE_RULE_KEYS - RULE_KEYS


def test_conditions_have_one_field_per_matcher_besides_the_name() -> None:
    assert tuple(f.name for f in dataclasses.fields(Conditions)) == CONDITION_KEYS


def test_the_rule_parser_accepts_exactly_the_file_keys() -> None:
    rule = rules_from_table(VALUES, "t.toml", 1)[0]
    assert rule.matchers() == {k: VALUES[k] for k in MATCHER_KEYS}
    with pytest.raises(RuleError) as caught:
        rules_from_table({**VALUES, "bogus": "x"}, "t.toml", 1)
    allowed = re.search(r"\(allowed: (.*)\)", caught.value.message)
    assert allowed is not None
    assert set(allowed[1].split(", ")) == FILE_RULE_KEYS


@pytest.mark.parametrize("key", MATCHER_KEYS)
def test_each_matcher_alone_makes_a_rule_everywhere(key: str) -> None:
    """A key that is a matcher for one side and not for another could not pass here."""
    rule = rules_from_table({key: VALUES[key], "class": "idle"}, "t.toml", 1)[0]
    assert rule.matchers() == {key: VALUES[key]}
    assert rulecheck.check_matchers({key: VALUES[key]}) == {key: VALUES[key]}
    assert rulecheck.check_rule({key: VALUES[key], "class": "idle"})[key] == VALUES[key]
    args = build_parser().parse_args(["rules", "add", f"--{key}", VALUES[key], "--class", "idle"])
    assert getattr(args, key) == VALUES[key]


def test_the_bus_takes_the_rule_keys_and_no_label() -> None:
    bus_rule = {k: VALUES[k] for k in RULE_KEYS}
    assert rulecheck.check_rule(bus_rule) == bus_rule
    with pytest.raises(errors.InvalidArgument, match="unknown keys label"):
        rulecheck.check_rule({**bus_rule, "label": "x"})
    with pytest.raises(errors.InvalidArgument, match="unknown keys class, type"):
        rulecheck.check_matchers(bus_rule)
    with pytest.raises(errors.InvalidArgument, match="needs at least one of " + ", ".join(MATCHER_KEYS)):
        rulecheck.check_rule({"class": "idle"})


def test_the_rules_window_reports_every_matcher_checked_or_not() -> None:
    shown = preview({k: VALUES[k] for k in MATCHER_KEYS}, [{"name": "cc1plus", "unit": "app-x.scope"}])
    assert shown.checked == ["name", "unit"]
    assert shown.unchecked == ["exe", "cmdline", "cgroup", "parent", "ancestor"]
    assert sorted(shown.checked + shown.unchecked) == sorted(MATCHER_KEYS)


NAME_CASES = [
    ("firefox", {"firefox"}, True),
    ("Firefox", {"firefox"}, False),  # only Windows names ignore case
    ("firefox", {"firefox-bin"}, False),
    ("gnome-terminal-server", {"gnome-terminal-"}, True),  # comm cut at 15
    ("gnome-terminal-", {"gnome-terminal-server"}, False),
    ("gnome-terminal-s", {"gnome-terminal"}, False),
    ("Game.exe", {"game.exe"}, True),
    ("LongWindowsGame.EXE", {"longwindowsgame"}, True),  # cut comm, case-insensitive
    ("Game.exe", {"Game"}, False),
    ("a.exe", set(), False),
]


@pytest.mark.parametrize(("wanted", "names", "expected"), NAME_CASES)
def test_name_in(wanted: str, names: set[str], expected: bool) -> None:
    assert name_in(wanted, names) is expected
    assert name_in(wanted, frozenset(names)) is expected


@pytest.mark.parametrize(("wanted", "names", "expected"), [c for c in NAME_CASES if len(c[1]) == 1])
def test_the_helper_and_the_rules_window_agree_on_names(wanted: str, names: set[str], expected: bool) -> None:
    (comm,) = names
    proc = ProcessRecord(pid=10, ppid=1, uid=1000, comm=comm, start_time=1)
    rule = Rule(wanted, None, None, "t", None)
    assert rule.matches(ProcFacts(proc)) is expected
    assert bool(preview({"name": wanted}, [{"name": comm}]).apps) is expected
