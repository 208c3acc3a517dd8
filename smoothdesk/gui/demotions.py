"""Demotions and restores seen between two ListApps polls, for marks on the dashboard's CPU plot."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from smoothdesk.gui.alert_text import plural

DEMOTED = frozenset({"background", "idle"})


def demoted_part(app: Mapping[str, Any]) -> str:
    """What of the app runs demoted: "" (nothing), the app's class, or "N label" of its members."""
    if app.get("class") in DEMOTED:
        return str(app["class"])
    members = [m for m in app.get("members") or [] if m.get("class") in DEMOTED]
    if not members:
        return ""
    labels = {str(m.get("label") or "process") for m in members}
    label = labels.pop() if len(labels) == 1 else "process"
    return f"{len(members)} {plural(label, len(members))}"


def changes(
    before: Mapping[str, str] | None,
    apps: Sequence[dict[str, Any]],
    name_of: Callable[[dict[str, Any]], str],
) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """([(kind, text)], the next state): kind "demoted" when an app (or part of it) went to the
    background or idle since the last poll (or appeared so), "restored" when it came back; gone apps
    say nothing, and neither does the first poll (`before` None): it saw no change."""
    now = {str(a.get("id")): demoted_part(a) for a in apps}
    events: list[tuple[str, str]] = []
    for app in apps:
        key = str(app.get("id"))
        if before is None:
            break
        was, is_ = before.get(key, ""), now[key]
        if bool(was) == bool(is_):
            continue
        name = name_of(app)
        events.append(("demoted", f"▼ {name}: {is_}") if is_ else ("restored", f"▲ {name} restored"))
    return events, now
