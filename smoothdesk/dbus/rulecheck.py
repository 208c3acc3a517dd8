"""Validation of rules that arrive over D-Bus, before they reach the helper or a file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from smoothdesk.core.classes import PriorityClass
from smoothdesk.core.matchers import MATCHER_KEYS, RULE_KEYS
from smoothdesk.dbus import errors

MAX_TEXT = 512
MAX_PATH = 4096

# A group that repeats something that itself repeats: (a+)+, (.*)*, (x|y+){2,}.
_NESTED = re.compile(r"\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)\s*(?:[+*]|\{\d*,\d*\})")


def check_text(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise errors.InvalidArgument(field, "must be a string")
    if not value or len(value) > MAX_TEXT or not value.isprintable():
        raise errors.InvalidArgument(field, f"must be 1-{MAX_TEXT} printable characters")
    return value


def check_regex(pattern: str, field: str) -> str:
    if _NESTED.search(pattern):
        raise errors.InvalidArgument(field, "regular expression too complex (nested repetition)")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise errors.InvalidArgument(field, f"not a valid regular expression: {exc}") from None
    return pattern


def _fields(table: Any, allowed: frozenset[str] | tuple[str, ...], argument: str) -> dict[str, str]:
    if not isinstance(table, dict):
        raise errors.InvalidArgument(argument, "must be a dictionary")
    unknown = sorted(str(k) for k in table if k not in allowed)
    if unknown:
        raise errors.InvalidArgument(argument, f"unknown keys {', '.join(unknown)[:200]}")
    out = {k: check_text(v, k) for k, v in table.items()}
    if "cmdline" in out:
        check_regex(out["cmdline"], "cmdline")
    if not any(k in out for k in MATCHER_KEYS):
        raise errors.InvalidArgument(argument, f"needs at least one of {', '.join(MATCHER_KEYS)}")
    return out


def check_rule(table: Any) -> dict[str, str]:
    """A rule table: known string fields only, one matcher at least, a class that parses."""
    rule = _fields(table, RULE_KEYS, "rule")
    if "class" in rule:
        try:
            rule["class"] = PriorityClass.parse(rule["class"]).value
        except ValueError as exc:
            raise errors.InvalidArgument("class", str(exc)) from None
    if "class" not in rule and "type" not in rule:
        raise errors.InvalidArgument("rule", "needs a class or a type")
    return rule


def check_matchers(table: Any) -> dict[str, str]:
    return _fields(table, MATCHER_KEYS, "matchers")


def check_path(path: str) -> str:
    if not path or len(path) > MAX_PATH or not path.isprintable() or "\x00" in path:
        raise errors.InvalidArgument("path", f"must be 1-{MAX_PATH} printable characters")
    if not Path(path).is_absolute():
        raise errors.InvalidArgument("path", "must be an absolute path")
    return path
