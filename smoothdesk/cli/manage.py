"""smoothdeskctl subcommands for rules management, history and the helper's doctor."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from smoothdesk.cli.errors import CliError
from smoothdesk.cli.format import human_bytes, parse_duration, table
from smoothdesk.core.matchers import MATCHER_KEYS
from smoothdesk.dbus.client import HelperClient

# argparse's names: "klass" is the rule's "class".
RULE_FIELDS = (*MATCHER_KEYS, "type", "klass")
Emit = Callable[[Any, str], None]


def _fields(args: Any, names: tuple[str, ...]) -> dict[str, str]:
    out = {("class" if n == "klass" else n): getattr(args, n) for n in names if getattr(args, n, None)}
    if not any(k in out for k in MATCHER_KEYS):
        raise CliError(f"give at least one of --{', --'.join(MATCHER_KEYS)}", 2)
    return out


async def cmd_rules_add(c: HelperClient, args: Any, emit: Emit) -> int:
    rule = _fields(args, RULE_FIELDS)
    source = await c.add_rule(rule)
    emit({"rule": rule, "source": source}, f"added to {source}")
    return 0


async def cmd_rules_delete(c: HelperClient, args: Any, emit: Emit) -> int:
    matchers = _fields(args, MATCHER_KEYS)
    removed = await c.delete_rule(matchers)
    emit({"matchers": matchers, "removed": removed}, f"{removed} rule(s) removed")
    return 0 if removed else 1


async def cmd_rules_import(c: HelperClient, args: Any, emit: Emit) -> int:
    # The helper resolves the path itself; an absolute one means the same thing on both sides.
    summary = await c.import_ananicy(str(Path(args.dir).absolute()))
    emit(
        summary,
        f"imported {summary['path']}: {summary['rules']} rules, {summary['errors']} errors, "
        f"{summary['warnings']} warnings ({summary['total_rules']} rules loaded in all)",
    )
    return 1 if summary["errors"] else 0


async def cmd_history(c: HelperClient, args: Any, emit: Emit) -> int:
    seconds = parse_duration(args.since, "--since") if args.since else 600.0
    samples = await c.history(seconds)
    rows = [
        (
            time.strftime("%H:%M:%S", time.localtime(s["time"])),
            f"{s['cpu_busy']:.0f}",
            f"{s['psi_cpu_some']:.1f}",
            f"{s['psi_io_some']:.1f}",
            f"{s['psi_memory_some']:.1f}",
            human_bytes(s["mem_available"]),
            s["demoted"],
            f"{s['tick_cost_ms']:.1f}",
        )
        for s in samples
    ]
    headers = ("TIME", "CPU%", "PSI-CPU", "PSI-IO", "PSI-MEM", "MEM-AVAIL", "DEMOTED", "TICK-MS")
    emit(samples, table(headers, rows) if rows else "no samples yet")
    return 0


async def cmd_doctor_helper(c: HelperClient, args: Any, emit: Emit) -> int:
    findings = await c.doctor()
    blocks = [
        f"{d['status'].upper():<8} {d['key']}: {d['summary']}\n{'':<8} -> {d['meaning']}" for d in findings
    ]
    emit(findings, "\n".join(blocks))
    return 1 if any(d["status"] == "error" for d in findings) else 0
