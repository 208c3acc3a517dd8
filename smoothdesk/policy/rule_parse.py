"""Parser for SmoothDesk's own TOML rule files (pure: it takes the text and a source name).

The format::

    # Every [[rule]] has at least one matcher and a type, a class, or both.
    [[rule]]
    name = "cc1plus"                  # a string, or a list: name = ["cc1", "cc1plus"]
    type = "compiler"

    [[rule]]
    cmdline = "^python3? .*manage\\\\.py runserver"
    class = "interactive"             # wins over the type's class
    label = "Django dev server"       # optional; shown as the reason

    [types.compiler]                  # define or redefine a type
    class = "background"
    tags = ["interactive-capable"]    # optional
    description = "compilers"         # optional

Rule keys: the matchers ``name``, ``exe``, ``cmdline``, ``cgroup``, ``unit``, ``parent`` and
``ancestor`` (see smoothdesk.policy.rules for what each one means), then ``type``, ``class``
and ``label``. Any other key, a bad class, an invalid regex or a rule without a matcher is an
error naming the file and line; that rule is skipped and the others load. A TOML syntax error
skips the whole file.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from smoothdesk.core.classes import PriorityClass
from smoothdesk.core.matchers import FILE_RULE_KEYS, MATCHER_KEYS
from smoothdesk.policy.errors import RuleError
from smoothdesk.policy.rules import (
    Conditions,
    Diagnostic,
    Glob,
    Rule,
    RuleDoc,
    Severity,
    TypeDef,
    compile_cmdline,
)

TYPE_KEYS = frozenset({"class", "tags", "description"})
TOP_KEYS = frozenset({"rule", "types"})

_RULE_HEADER = re.compile(r"\s*\[\[\s*rule\s*\]\]\s*(#.*)?")
_ANY_HEADER = re.compile(r"""\s*\[\[?\s*[\w.\"' -]+\s*\]\]?\s*(#.*)?""")
_TYPE_HEADER = re.compile(r"""\s*\[\s*types\s*\.\s*(["']?)([^\]"']+)\1\s*\]""")
_AT_LINE = re.compile(r"at line (\d+)")

_T = TypeVar("_T")


def _code_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) for lines outside multi-line strings, where headers can be."""
    out = []
    in_string: str | None = None
    for lineno, line in enumerate(text.splitlines(), 1):
        if in_string is None:
            out.append((lineno, line))
        for quote in ('"""', "'''"):
            if line.count(quote) % 2 == 1 and in_string in (None, quote):
                in_string = None if in_string == quote else quote
    return out


def _key_line(block: list[tuple[int, str]], key: str) -> int | None:
    """The line of `key = ...`, or of a `[key]` / `[key.sub]` table header."""
    k = re.escape(key)
    wanted = re.compile(rf"""\s*(["']?{k}["']?\s*=|\[\s*["']?{k}["']?\s*[.\]])""")
    return next((n for n, line in block if wanted.match(line)), None)


def _string(table: Mapping[str, Any], key: str) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{key!r} must be a non-empty string, not {value!r}")
    return value


def _names(table: Mapping[str, Any]) -> list[str | None]:
    value = table.get("name")
    if value is None:
        return [None]
    values = value if isinstance(value, list) else [value]
    if not values:
        raise ValueError("'name' is an empty list")
    for v in values:
        if not isinstance(v, str) or not v.strip():
            raise ValueError(f"'name' must be a non-empty string or a list of them, not {v!r}")
        if "/" in v:
            raise ValueError(f"'name' is a base name; use 'exe' for the path {v!r}")
    return list(values)


def _keyed(key: str, parse: Callable[[str], _T], value: str | None) -> _T | None:
    """Parse a value, naming its key in the error so it can be pointed at."""
    if value is None:
        return None
    try:
        return parse(value)
    except ValueError as exc:
        raise ValueError(f"{key!r}: {exc}") from None


def rules_from_table(table: Mapping[str, Any], source: str, line: int | None) -> list[Rule]:
    """The rules of one [[rule]] table (one per name); RuleError says what is wrong."""
    unknown = sorted(set(table) - FILE_RULE_KEYS)
    if unknown:
        allowed = ", ".join(sorted(FILE_RULE_KEYS))
        raise RuleError(f"unknown key {unknown[0]!r} in [[rule]] (allowed: {allowed})", source, line)
    try:
        names = _names(table)
        exe = _string(table, "exe")
        if exe is not None and not exe.startswith(("/", "*", "?", "[")):
            raise ValueError(f"'exe' must be an absolute path or a glob, not {exe!r}")
        cmdline = _string(table, "cmdline")
        cgroup, unit = _string(table, "cgroup"), _string(table, "unit")
        cond = Conditions(
            exe=Glob.compile(exe) if exe else None,
            cmdline=_keyed("cmdline", compile_cmdline, cmdline),
            cgroup=Glob.compile(cgroup) if cgroup else None,
            unit=Glob.compile(unit) if unit else None,
            parent=_string(table, "parent"),
            ancestor=_string(table, "ancestor"),
        )
        type_name, label = _string(table, "type"), _string(table, "label")
        class_name = _string(table, "class")
        klass = _keyed("class", PriorityClass.parse, class_name)
    except ValueError as exc:
        raise RuleError(str(exc), source, line) from None
    if names == [None] and cond == Conditions():
        matchers = ", ".join(MATCHER_KEYS)
        raise RuleError(f"rule has no matcher (give one of: {matchers})", source, line)
    if type_name is None and klass is None:
        raise RuleError("rule gives neither 'type' nor 'class'", source, line)
    has_cond = cond != Conditions()
    return [
        Rule(n, type_name, klass, source, line, cond=cond if has_cond else None, label=label) for n in names
    ]


def _type_from_table(name: str, table: Any, source: str, line: int | None) -> TypeDef:
    if not isinstance(table, dict):
        raise RuleError(f"[types.{name}] must be a table", source, line)
    unknown = sorted(set(table) - TYPE_KEYS)
    if unknown:
        raise RuleError(f"unknown key {unknown[0]!r} in [types.{name}]", source, line)
    tags = table.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise RuleError(f"[types.{name}] tags must be a list of strings", source, line)
    description = table.get("description", "")
    if not isinstance(description, str):
        raise RuleError(f"[types.{name}] description must be a string", source, line)
    if "class" not in table:
        raise RuleError(f"[types.{name}] has no 'class'", source, line)
    try:
        klass = PriorityClass.parse(str(table["class"]))
    except ValueError as exc:
        raise RuleError(f"[types.{name}]: {exc}", source, line) from None
    return TypeDef(name, klass, frozenset(tags), source, line, description)


def parse_toml_rules(text: str, source: str) -> RuleDoc:
    """Parse one SmoothDesk rule file; problems land in the returned doc's diagnostics."""
    doc = RuleDoc(source, "toml", [], [], [], [])
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = _AT_LINE.search(str(exc))
        line = int(found[1]) if found else None
        msg = f"TOML syntax error, file skipped: {exc}"
        doc.diagnostics.append(Diagnostic(source, line, Severity.ERROR, msg))
        return doc
    code = _code_lines(text)
    for key in sorted(set(data) - TOP_KEYS):
        msg = f"unknown top-level key {key!r} (allowed: rule, types)"
        doc.diagnostics.append(Diagnostic(source, _key_line(code, key), Severity.ERROR, msg))
    _parse_rules(data.get("rule", []), code, doc)
    types = data.get("types", {})
    if not isinstance(types, dict):
        msg = "'types' must be a table of [types.NAME] tables"
        doc.diagnostics.append(Diagnostic(source, _key_line(code, "types"), Severity.ERROR, msg))
        return doc
    type_lines = {m[2].strip(): n for n, line in code if (m := _TYPE_HEADER.match(line))}
    for name, table in types.items():
        try:
            doc.types.append(_type_from_table(name, table, source, type_lines.get(name)))
        except RuleError as exc:
            doc.diagnostics.append(Diagnostic.from_error(exc))
    return doc


def _parse_rules(tables: Any, code: list[tuple[int, str]], doc: RuleDoc) -> None:
    if not isinstance(tables, list):
        msg = "'rule' must be an array of tables: write [[rule]], not [rule]"
        doc.diagnostics.append(Diagnostic(doc.source, _key_line(code, "rule"), Severity.ERROR, msg))
        return
    headers = [i for i, (_, line) in enumerate(code) if _RULE_HEADER.fullmatch(line)]
    blocks: list[list[tuple[int, str]]] = []
    if len(headers) == len(tables):  # else an inline `rule = [...]`: no per-rule lines
        for i in headers:
            end = next((j for j in range(i + 1, len(code)) if _ANY_HEADER.fullmatch(code[j][1])), None)
            blocks.append(code[i:end])
    for index, table in enumerate(tables):
        block = blocks[index] if blocks else []
        line = block[0][0] if block else None
        if not isinstance(table, dict):
            msg = "each 'rule' entry must be a table"
            doc.diagnostics.append(Diagnostic(doc.source, line, Severity.ERROR, msg))
            continue
        try:
            doc.rules.extend(rules_from_table(table, doc.source, line))
        except RuleError as exc:
            doc.diagnostics.append(Diagnostic.from_error(_precise(exc, table, block)))


def _precise(exc: RuleError, table: Mapping[str, Any], block: list[tuple[int, str]]) -> RuleError:
    """Point the error at the offending key's line when the message names a key."""
    for key in table:
        if f"'{key}'" in exc.message and (line := _key_line(block, key)) is not None:
            return RuleError(exc.message, exc.path, line)
    return exc
