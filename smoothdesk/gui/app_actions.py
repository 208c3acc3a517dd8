"""What the applications window asks of the helper: pin or unpin for now, or write a rule."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from smoothdesk.core.matchers import MATCHER_KEYS

if TYPE_CHECKING:
    from smoothdesk.gui.connection import HelperConnection

CHOICES = ("auto", "critical", "interactive", "normal", "background", "idle")
_SOURCE = re.compile(r"\(([^()]+)\)")

Done = Callable[[str], None]
Failed = Callable[[str, str], None]


def change_class(
    conn: HelperConnection, app: dict[str, Any], klass: str, *, always: bool, done: Done, failed: Failed
) -> None:
    """ "This session": SetClass (auto: ClearClass). "Always": a name rule via AddRule, as
    `smoothdeskctl rules add --name N --class C` writes it (auto: DeleteRule of that rule)."""
    name = str(app.get("name", ""))
    ref = str(app["id"])
    if klass not in CHOICES:
        raise ValueError(f"unknown class {klass!r}")
    if always:
        if klass == "auto":
            conn.call(
                "delete_rule",
                {"name": name},
                on_done=lambda n: (
                    done(f"{name}: {n} rule(s) removed; automatic from now on")
                    if n
                    else failed("", f"{name}: no rule of yours names it exactly; nothing removed")
                ),
                on_error=failed,
            )
        else:
            conn.call(
                "add_rule",
                {"name": name, "class": klass},
                on_done=lambda source: done(f"{name}: always {klass} (rule written to {source})"),
                on_error=failed,
            )
        return
    if klass == "auto":
        if not app.get("pinned"):
            done(f"{name}: already automatic")
            return
        conn.call("clear_class", ref, on_done=lambda _: done(f"{name}: back to automatic"), on_error=failed)
        return
    conn.call(
        "set_class",
        ref,
        klass,
        0.0,
        on_done=lambda _: done(f"{name}: {klass} for this session"),
        on_error=failed,
    )


def rule_sources(app: dict[str, Any]) -> list[str]:
    """The file:line of every rule the app's reason chain cites."""
    return [m for r in app.get("reasons", []) if str(r).startswith("rule:") for m in _SOURCE.findall(str(r))]


def matching_rules(app: dict[str, Any], rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The loaded rules that decided this app (by the source its reasons cite), else those naming it."""
    sources = set(rule_sources(app))
    cited = [r for r in rules if r.get("source") in sources]
    if cited:
        return cited
    return [r for r in rules if r.get("name") and r.get("name") == app.get("name")]


def describe_rule(rule: dict[str, Any]) -> str:
    match = ", ".join(f"{k}={rule[k]}" for k in MATCHER_KEYS if rule.get(k))
    gives = rule.get("class") or rule.get("type") or "?"
    return f"{match or rule.get('label', '?')} → {gives} ({rule.get('source', '?')})"
