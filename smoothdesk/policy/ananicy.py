"""Parser for the ananicy-cpp rule database, unchanged format: .rules, .types and .cgroups files.

Each file holds one JSON object per line; ``#`` starts a comment line (or a comment after the
object) and blank lines are skipped. Rules look like ``{ "name": "cc1plus", "type": "Compiler" }``
with optional "nice", "ioclass", "sched", "latency_nice", "cgroup", "oom_score_adj", ...; types
like ``{"type": "Compiler", "nice": 19, "sched": "batch"}``; cgroups like
``{"cgroup": "cpu80", "CPUQuota": 80}``. The raw values are kept on each rule and type, but
SmoothDesk only takes a class from them (see rule_types). A name holding a "/" is matched
against the executable path. A malformed line is an error naming the file and line; the other
lines still load.
"""

from __future__ import annotations

import json
import re
from sys import intern
from typing import Any

from smoothdesk.core.classes import PriorityClass
from smoothdesk.policy.rule_types import class_from_attrs
from smoothdesk.policy.rules import (
    CgroupDef,
    Conditions,
    Diagnostic,
    Glob,
    Rule,
    RuleDoc,
    Severity,
    TypeDef,
)

KINDS = ("rules", "types", "cgroups")

# Nine lines in ten are `{ "name": "...", "type": "..." }`; a regex reads them faster than json.
_FAST_RULE = re.compile(r'\{\s*"name"\s*:\s*"([^"\\/]+)"\s*,\s*"type"\s*:\s*"([^"\\]+)"\s*\}')
_DECODER = json.JSONDecoder()

# key -> (lowest, highest) for integer values ananicy-cpp understands
_INT_RANGES: dict[str, tuple[int, int]] = {
    "nice": (-20, 19),
    "latency_nice": (-20, 19),
    "oom_score_adj": (-1000, 1000),
    "rtprio": (1, 99),
    "ionice": (0, 7),
    "CPUQuota": (1, 100),
}
_STR_KEYS = frozenset({"name", "type", "sched", "ioclass", "cgroup"})


def kind_of(source: str) -> str | None:
    """ "rules", "types" or "cgroups" from a file name's suffix; None for other files."""
    suffix = source.rsplit(".", 1)[-1]
    return suffix if suffix in KINDS else None


def _decode(line: str) -> Any:
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        if not exc.msg.startswith("Extra data"):
            raise
    obj, end = _DECODER.raw_decode(line)
    rest = line[end:].lstrip()
    if rest and not rest.startswith("#"):
        raise json.JSONDecodeError("Extra data", line, end)
    return obj


def _check(obj: dict[str, Any]) -> str | None:
    """Why the values of an object are wrong, or None if they are fine."""
    for key, value in obj.items():
        if key in _STR_KEYS and not (isinstance(value, str) and value):
            return f"{key!r} must be a non-empty string, not {value!r}"
        bounds = _INT_RANGES.get(key)
        if bounds is not None:
            low, high = bounds
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                return f"{key!r} must be an integer from {low} to {high}, not {value!r}"
    return None


def _attrs(obj: dict[str, Any], skip: str) -> tuple[tuple[str, Any], ...]:
    if all(k == skip or k == "type" for k in obj):
        return ()
    return tuple(
        (intern(k), intern(v) if isinstance(v, str) else v)
        for k, v in obj.items()
        if k != skip and k != "type"
    )


def parse_ananicy(text: str, source: str, kind: str | None = None) -> RuleDoc:
    """Parse one ananicy-cpp file; `kind` defaults to the suffix of `source`."""
    kind = kind or kind_of(source)
    if kind not in KINDS:
        raise ValueError(f"{source}: not a .rules, .types or .cgroups file")
    source = intern(source)
    doc = RuleDoc(source, "ananicy", [], [], [], [])
    rules, diagnostics = doc.rules, doc.diagnostics
    fast = _FAST_RULE.fullmatch if kind == "rules" else None
    key = {"rules": "name", "types": "type", "cgroups": "cgroup"}[kind]
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line[0] == "#":
            continue
        if fast is not None and (m := fast(line)) is not None:
            rules.append(Rule(m[1], intern(m[2]), None, source, lineno))
            continue
        try:
            obj = _decode(line)
        except json.JSONDecodeError as exc:
            msg = f"malformed line: {exc.msg} (column {exc.colno})"
            diagnostics.append(Diagnostic(source, lineno, Severity.ERROR, msg))
            continue
        if not isinstance(obj, dict):
            msg = f"expected a JSON object, got {type(obj).__name__}"
            diagnostics.append(Diagnostic(source, lineno, Severity.ERROR, msg))
            continue
        problem = _check(obj)
        if problem is None and key not in obj:
            problem = f"no {key!r} key"
        if problem is not None:
            diagnostics.append(Diagnostic(source, lineno, Severity.ERROR, problem))
            continue
        if kind == "rules":
            _add_rule(doc, obj, lineno)
        elif kind == "types":
            # NORMAL is a placeholder: the builder settles the class against the built-in table.
            attrs = _attrs(obj, "type")
            name = intern(obj["type"])
            doc.types.append(TypeDef(name, PriorityClass.NORMAL, frozenset(), source, lineno, "", attrs))
        else:
            quota = obj.get("CPUQuota")
            doc.cgroups.append(CgroupDef(obj["cgroup"], quota, source, lineno))
    return doc


def _add_rule(doc: RuleDoc, obj: dict[str, Any], lineno: int) -> None:
    name: str = obj["name"]
    type_name = obj.get("type")
    attrs = _attrs(obj, "name")
    klass = None
    if type_name is None:
        klass = class_from_attrs(obj)
        if klass is None:
            doc.diagnostics.append(
                Diagnostic(
                    doc.source,
                    lineno,
                    Severity.INFO,
                    f"rule for {name!r} has no type and no CPU or IO values; ignored",
                )
            )
            return
    rule_name: str | None = name
    cond = None
    if "/" in name:
        rule_name, cond = None, Conditions(exe=Glob(name, None))
    type_name = intern(type_name) if type_name else None
    doc.rules.append(Rule(rule_name, type_name, klass, doc.source, lineno, cond=cond, attrs=attrs))
