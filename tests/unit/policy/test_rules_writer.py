"""The user rules file writer: round trips, replaces in place, and never loses other rules."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from smoothdesk.config.rules_files import add_user_rule, load_rules, remove_user_rule
from smoothdesk.core import PriorityClass, ProcessRecord
from smoothdesk.policy.errors import RuleError

EXISTING = """\
# written by hand
[[rule]]
name = ["gimp", "krita"]
class = "interactive"

[[rule]]
cmdline = "^python3? .*manage\\\\.py runserver"
class = "interactive"
label = "django"

[types.render]
class = "background"
tags = ["heavy"]
"""


def proc(comm: str, *cmdline: str) -> ProcessRecord:
    return ProcessRecord(pid=7, ppid=1, uid=1000, comm=comm, start_time=1, cmdline=cmdline)


def klass_of(path: Path, record: ProcessRecord) -> PriorityClass | None:
    result = load_rules([path.parent])
    assert result.diagnostics == []
    c = result.ruleset.classify(record)
    return None if c is None else c.klass


@pytest.fixture
def user_file(tmp_path: Path) -> Path:
    path = tmp_path / "rules.d" / "90-user.toml"
    path.parent.mkdir()
    path.write_text(EXISTING)
    return path


def test_add_creates_the_file_and_its_directory(tmp_path: Path) -> None:
    path = tmp_path / "new" / "rules.d" / "90-user.toml"
    assert add_user_rule({"name": "blender", "class": "background"}, path) == path
    assert klass_of(path, proc("blender")) is PriorityClass.BACKGROUND


def test_add_keeps_every_other_rule_and_type(user_file: Path) -> None:
    before = tomllib.loads(user_file.read_text())
    add_user_rule({"name": "blender", "class": "background"}, user_file)
    after = tomllib.loads(user_file.read_text())
    assert after["rule"][:2] == before["rule"]
    assert after["types"] == before["types"]
    assert after["rule"][2] == {"name": "blender", "class": "background"}
    server = proc("python3", "python3", "manage.py", "runserver")
    assert klass_of(user_file, server) is PriorityClass.INTERACTIVE  # backslashes survived
    assert klass_of(user_file, proc("krita")) is PriorityClass.INTERACTIVE
    assert klass_of(user_file, proc("blender")) is PriorityClass.BACKGROUND


def test_add_with_the_same_matchers_replaces_in_place(user_file: Path) -> None:
    add_user_rule({"name": "blender", "class": "background"}, user_file)
    add_user_rule({"name": "blender", "class": "idle"}, user_file)
    rules = tomllib.loads(user_file.read_text())["rule"]
    assert [r.get("name") for r in rules] == [["gimp", "krita"], None, "blender"]
    assert klass_of(user_file, proc("blender")) is PriorityClass.IDLE


def test_remove_takes_only_the_exact_matchers(user_file: Path) -> None:
    add_user_rule({"name": "blender", "class": "idle"}, user_file)
    assert remove_user_rule({"name": "gimp"}, user_file) == 0  # part of a list: not the same rule
    assert remove_user_rule({"name": "blender"}, user_file) == 1
    assert klass_of(user_file, proc("blender")) is None
    assert klass_of(user_file, proc("gimp")) is PriorityClass.INTERACTIVE
    assert remove_user_rule({"name": ["gimp", "krita"]}, user_file) == 1
    assert klass_of(user_file, proc("gimp")) is None
    assert tomllib.loads(user_file.read_text())["types"]["render"]["class"] == "background"


def test_invalid_rule_is_refused_and_the_file_untouched(user_file: Path) -> None:
    before = user_file.read_bytes()
    with pytest.raises(RuleError, match="urgent"):
        add_user_rule({"name": "x", "class": "urgent"}, user_file)
    with pytest.raises(RuleError, match="no matcher"):
        add_user_rule({"class": "idle"}, user_file)
    assert user_file.read_bytes() == before


def test_unparsable_file_is_never_rewritten(user_file: Path) -> None:
    user_file.write_text(EXISTING + "\n[[rule]\nname = 'broken'\n")
    before = user_file.read_bytes()
    with pytest.raises(RuleError, match="not updated"):
        add_user_rule({"name": "blender", "class": "idle"}, user_file)
    with pytest.raises(RuleError):
        remove_user_rule({"name": "gimp"}, user_file)
    assert user_file.read_bytes() == before


def test_write_is_atomic_and_keeps_the_mode(user_file: Path) -> None:
    user_file.chmod(0o640)
    add_user_rule({"name": "blender", "class": "idle"}, user_file)
    assert sorted(p.name for p in user_file.parent.iterdir()) == ["90-user.toml"]
    assert user_file.stat().st_mode & 0o777 == 0o640
