"""The TOML rule format: what parses, and errors that name the exact file and line."""

from __future__ import annotations

from smoothdesk.core import PriorityClass
from smoothdesk.policy.rule_parse import parse_toml_rules
from smoothdesk.policy.rules import Diagnostic, RuleDoc, Severity

EXAMPLE = """\
[[rule]]
name = "cc1plus"
type = "compiler"
[[rule]]
cmdline = "^python3? .*manage\\\\.py runserver"
class = "interactive"
[types.compiler]
class = "background"
"""


def line_of(text: str, needle: str) -> int:
    """The 1-based line holding `needle`, found independently of the parser."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def errors(doc: RuleDoc) -> list[Diagnostic]:
    return [d for d in doc.diagnostics if d.severity is Severity.ERROR]


def test_example_from_the_docs_parses() -> None:
    doc = parse_toml_rules(EXAMPLE, "ex.toml")
    assert doc.diagnostics == []
    assert [(r.name, r.type, r.klass) for r in doc.rules] == [
        ("cc1plus", "compiler", None),
        (None, None, PriorityClass.INTERACTIVE),
    ]
    assert doc.rules[1].cond is not None and doc.rules[1].cond.cmdline is not None
    assert doc.rules[1].cond.cmdline.search("python3 manage.py runserver 0:8000")
    assert [(r.line, r.where) for r in doc.rules] == [(1, "ex.toml:1"), (4, "ex.toml:4")]
    assert [(t.name, t.klass, t.line) for t in doc.types] == [("compiler", PriorityClass.BACKGROUND, 7)]


def test_name_list_gives_one_rule_per_name() -> None:
    text = '[[rule]]\nname = ["xz", "zstd"]\ntype = "compressor"\nlabel = "squash"\n'
    doc = parse_toml_rules(text, "c.toml")
    assert [r.name for r in doc.rules] == ["xz", "zstd"]
    assert {r.line for r in doc.rules} == {1}
    assert [r.title for r in doc.rules] == ["squash: xz", "squash: zstd"]


BAD = """\
# header comment
[[rule]]
name = "good-one"
type = "compiler"

[[rule]]
name = "typo"
clas = "idle"

[[rule]]
name = "bad-class"
class = "urgent"

[[rule]]
cmdline = "(unclosed"
class = "idle"

[[rule]]
type = "compiler"

[[rule]]
name = "no-effect"

[[rule]]
name = "/usr/bin/env"
class = "idle"

[[rule]]
name = "good-two"
class = "idle"
"""


def test_each_bad_rule_is_an_error_at_its_line_and_the_others_load() -> None:
    doc = parse_toml_rules(BAD, "/etc/smoothdesk/rules.d/50-bad.toml")
    assert [r.name for r in doc.rules] == ["good-one", "good-two"]
    found = [(d.path, d.line) for d in errors(doc)]
    path = "/etc/smoothdesk/rules.d/50-bad.toml"
    headers = [i for i, line in enumerate(BAD.splitlines(), 1) if line == "[[rule]]"]
    assert found == [
        (path, line_of(BAD, "clas =")),
        (path, line_of(BAD, 'class = "urgent"')),
        (path, line_of(BAD, "(unclosed")),
        (path, headers[4]),
        (path, headers[5]),
        (path, line_of(BAD, "/usr/bin/env")),
    ]
    messages = [d.message for d in errors(doc)]
    assert "unknown key 'clas'" in messages[0]
    assert "urgent" in messages[1] and "critical" in messages[1]
    assert "invalid cmdline regex" in messages[2]
    assert "no matcher" in messages[3]
    assert "neither 'type' nor 'class'" in messages[4]
    assert "use 'exe'" in messages[5]


def test_no_matcher_error_points_at_the_rule_header() -> None:
    text = '[[rule]]\nname = "a"\nclass = "idle"\n\n[[rule]]\ntype = "compiler"\n'
    (diag,) = errors(parse_toml_rules(text, "x.toml"))
    assert diag.line == 5
    assert str(diag).startswith("x.toml:5: error: rule has no matcher")


def test_toml_syntax_error_names_file_and_line_and_skips_the_file() -> None:
    text = '[[rule]]\nname = "a"\nclass = "idle"\n\n[[rule]]\nname = "b\nclass = "idle"\n'
    doc = parse_toml_rules(text, "broken.toml")
    assert doc.rules == []
    (diag,) = doc.diagnostics
    assert (diag.path, diag.line, diag.severity) == ("broken.toml", 6, Severity.ERROR)
    assert "syntax" in diag.message


def test_header_inside_a_multiline_string_does_not_shift_lines() -> None:
    text = (
        '[[rule]]\nname = "a"\nclass = "idle"\nlabel = """\n[[rule]]\n"""\n'
        '[[rule]]\nname = "b"\nclass = "bogus"\n'
    )
    (diag,) = errors(parse_toml_rules(text, "m.toml"))
    assert diag.line == line_of(text, "bogus")


def test_bad_type_table_and_unknown_top_level_key() -> None:
    text = 'version = 2\n[types.fast]\nclass = "turbo"\n[types.ok]\nclass = "idle"\nextra = 1\n'
    doc = parse_toml_rules(text, "t.toml")
    found = [(d.line, d.message.split(" (")[0]) for d in errors(doc)]
    assert found[0] == (1, "unknown top-level key 'version'")
    assert found[1][0] == line_of(text, "[types.fast]") and "turbo" in found[1][1]
    assert found[2] == (line_of(text, "[types.ok]"), "unknown key 'extra' in [types.ok]")
    assert doc.types == []


def test_single_rule_table_instead_of_array_is_an_error() -> None:
    doc = parse_toml_rules('[rule]\nname = "a"\nclass = "idle"\n', "s.toml")
    (diag,) = errors(doc)
    assert diag.line == 1 and "[[rule]]" in diag.message
