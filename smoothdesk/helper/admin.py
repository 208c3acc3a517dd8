"""Rules management for the bus: write admin rules, import ananicy-cpp directories, reload."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smoothdesk.config.rules_files import add_user_rule, check_rules, remove_user_rule
from smoothdesk.dbus import errors
from smoothdesk.policy.errors import RuleError
from smoothdesk.policy.rules import Severity

if TYPE_CHECKING:
    from smoothdesk.helper.daemon import Daemon

ANANICY_ROOTS = (
    Path("/etc/ananicy.d"),
    Path("/usr/share/ananicy"),
    Path("/usr/lib/ananicy.d"),
    Path("/usr/lib/ananicy-cpp"),
)


def add_rule(daemon: Daemon, write_path: Path, rule: dict[str, str]) -> str:
    """Write (or replace) a rule in the helper's rules file and reload; return the file."""
    try:
        path = add_user_rule(rule, write_path)
    except RuleError as exc:
        raise errors.InvalidArgument("rule", str(exc)) from None
    except OSError as exc:
        raise errors.BusError(f"cannot write {write_path}: {exc.strerror}") from None
    daemon.reload()
    return str(path)


def delete_rule(daemon: Daemon, write_path: Path, matchers: dict[str, str]) -> int:
    try:
        removed = remove_user_rule(matchers, write_path)
    except RuleError as exc:
        raise errors.BusError(str(exc)) from None
    except OSError as exc:
        raise errors.BusError(f"cannot write {write_path}: {exc.strerror}") from None
    if removed:
        daemon.reload()
    return removed


def allowed_roots(extra: Path | None) -> list[Path]:
    roots = [*ANANICY_ROOTS, *([extra] if extra is not None else [])]
    return [Path(os.path.realpath(r)) for r in roots]


def resolve_import(extra_root: Path | None, path: str) -> Path:
    """The real directory behind `path`, which must lie under an allowed root (symlinks followed)."""
    real = Path(os.path.realpath(path))
    if not any(real == root or root in real.parents for root in allowed_roots(extra_root)):
        roots = ", ".join(str(r) for r in allowed_roots(extra_root))
        raise errors.InvalidArgument("path", f"{real} is not under an allowed root ({roots})")
    if not real.is_dir():
        raise errors.InvalidArgument("path", f"{real} is not a directory")
    return real


def import_ananicy(daemon: Daemon, extra_root: Path | None, path: str) -> dict[str, Any]:
    """Add an ananicy-cpp directory to this run's rules and reload; counts of what it holds."""
    real = resolve_import(extra_root, path)
    result = check_rules([], [real])
    daemon.import_ananicy(real)
    return {
        "path": str(real),
        "rules": len(result.ruleset),
        "errors": sum(d.severity is Severity.ERROR for d in result.diagnostics),
        "warnings": sum(d.severity is Severity.WARNING for d in result.diagnostics),
        "total_rules": daemon.status().rules,
    }
