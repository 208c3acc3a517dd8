"""Which running apps a rule would match, from what ListApps publishes, and what went unchecked.

The helper matches rules per process on name, exe, cmdline, cgroup, unit, parent and ancestor
(policy/rules.py). ListApps gives one row per app group with its name and systemd unit (and
exe/cmdline if a helper publishes them), so this is a preview: matchers it cannot see are
reported as unchecked, never guessed.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from smoothdesk.core.matchers import MATCHER_KEYS, name_in


@dataclass(slots=True)
class Preview:
    apps: list[dict[str, Any]] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)

    def names(self) -> list[str]:
        return sorted({str(a.get("name", "?")) for a in self.apps})

    def note(self) -> str:
        if not self.checked:
            return "cannot test: the helper does not publish " + ", ".join(self.unchecked)
        text = "matched on " + ", ".join(self.checked)
        if self.unchecked:
            text += "; not checked (not published by the helper): " + ", ".join(self.unchecked)
        return text


def _glob(pattern: str, value: str) -> bool:
    return fnmatch.fnmatchcase(value, pattern)


def _check(key: str, wanted: str, app: Mapping[str, Any]) -> bool | None:
    """True/False, or None when the app row does not carry what `key` looks at."""
    if key == "name":
        names = {str(app.get("name", ""))}
        if app.get("exe"):
            names.add(str(app["exe"]).rsplit("/", 1)[-1])
        return name_in(wanted, names - {""})
    if key == "unit":
        return bool(app.get("unit")) and _glob(wanted, str(app["unit"]))
    if key == "exe" and app.get("exe"):
        return _glob(wanted, str(app["exe"]))
    if key == "cmdline" and app.get("cmdline") is not None:
        cmd = app["cmdline"]
        text = " ".join(cmd) if isinstance(cmd, list) else str(cmd)
        try:
            return re.search(wanted, text) is not None
        except re.error:
            return False
    return None


def preview(rule: Mapping[str, Any], apps: Iterable[Mapping[str, Any]]) -> Preview:
    """The apps every checkable matcher of `rule` accepts (none if no matcher could be checked)."""
    apps = list(apps)
    wanted = {k: str(rule[k]) for k in MATCHER_KEYS if rule.get(k)}
    result = Preview()
    checked: set[str] = set()
    unchecked: set[str] = set()
    for app in apps:
        verdicts = {k: _check(k, v, app) for k, v in wanted.items()}
        checked.update(k for k, v in verdicts.items() if v is not None)
        unchecked.update(k for k, v in verdicts.items() if v is None)
        known = [v for v in verdicts.values() if v is not None]
        if known and all(known):
            result.apps.append(dict(app))
    result.checked = [k for k in MATCHER_KEYS if k in checked]
    result.unchecked = [k for k in MATCHER_KEYS if k in wanted and k not in checked]
    return result
