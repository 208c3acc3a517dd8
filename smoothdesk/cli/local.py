"""smoothdeskctl subcommands that run locally: doctor and rules check."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from smoothdesk.cli.errors import CliError
from smoothdesk.collector.capabilities import probe
from smoothdesk.config.rules_files import check_rules

FOCUS_MEANING = (
    "the session agent tells the helper which window has focus from here; without it the focused app "
    "is not boosted (on GNOME or KDE Wayland: smoothdesk --agent-only --install-integration)"
)


def cmd_doctor(args: Any, emit: Callable[[Any, str], None], helper: str) -> int:
    findings = probe(Path(args.root))
    data = [{"key": f.key, "status": f.status, "summary": f.summary, "meaning": f.meaning} for f in findings]
    data.append(
        {
            "key": "helper",
            "status": "ok" if helper.startswith("running") else "warn",
            "summary": helper,
            "meaning": "smoothdeskctl status/apps/set-class need a running helper",
        }
    )
    data.append(focus_finding(os.environ))
    # Findings are sentences, not cells: one block each reads better than a cramped table.
    blocks = [f"{d['status'].upper():<8} {d['key']}: {d['summary']}\n{'':<8} -> {d['meaning']}" for d in data]
    emit(data, "\n".join(blocks))
    return 1 if any(d["status"] == "error" for d in data) else 0


def focus_finding(env: Mapping[str, str]) -> dict[str, str]:
    """Where the session agent would read the focus in this session (sway, X11, GNOME, KWin), or why not."""
    from smoothdesk.agent.focus_select import choose_focus, session_address

    probe_focus = asyncio.wait_for(choose_focus(env, session_address("session", env)), 5.0)
    try:
        # A thread of its own: doctor is called from smoothdeskctl's running event loop.
        with ThreadPoolExecutor(1) as pool:
            choice = pool.submit(asyncio.run, probe_focus).result()
    except TimeoutError:
        return {"key": "focus", "status": "warn", "summary": "focus source: the session bus did not answer",
                "meaning": FOCUS_MEANING}  # fmt: skip
    ok = choice.source in ("x11", "sway") or choice.ready
    return {"key": "focus", "status": "ok" if ok else "warn", "summary": f"focus source: {choice.describe()}",
            "meaning": FOCUS_MEANING}  # fmt: skip


def cmd_rules_check(args: Any, emit: Callable[[Any, str], None]) -> int:
    ananicy = [Path(p) for p in args.ananicy or []]
    for path in ananicy:
        if not path.is_dir():
            raise CliError(f"--ananicy: {path} is not a directory", 2)
    dirs = [Path(p) for p in args.dir or []] or None
    result = check_rules(dirs, ananicy)
    errors = [str(d) for d in result.diagnostics if d.severity == "error"]
    warnings = [str(d) for d in result.diagnostics if d.severity != "error"]
    data = {"rules": len(result.ruleset), "errors": errors, "warnings": warnings}
    summary = f"{len(result.ruleset)} rules loaded; {len(errors)} errors, {len(warnings)} warnings"
    emit(data, "\n".join([*errors, *warnings, summary]))
    return 1 if errors else 0
