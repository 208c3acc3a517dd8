"""smoothdeskctl subcommands that run locally: doctor and rules check."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from smoothdesk.cli.errors import CliError
from smoothdesk.collector.capabilities import probe
from smoothdesk.config.rules_files import check_rules


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
    # Findings are sentences, not cells: one block each reads better than a cramped table.
    blocks = [f"{d['status'].upper():<8} {d['key']}: {d['summary']}\n{'':<8} -> {d['meaning']}" for d in data]
    emit(data, "\n".join(blocks))
    return 1 if any(d["status"] == "error" for d in data) else 0


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
