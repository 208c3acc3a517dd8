"""smoothdeskctl slo, alerts and report: the helper's error budgets, alerts and snapshot-log reports."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from smoothdesk.cli.errors import CliError
from smoothdesk.cli.format import table
from smoothdesk.dbus.client import HelperClient
from smoothdesk.telemetry.report import parse_since
from smoothdesk.telemetry.schema import StoreError

Emit = Callable[[Any, str], None]


def _span(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def _value(v: float) -> str:
    return "-" if math.isnan(v) else f"{v:.3g}"


def _since(ts: float) -> str:
    """Where the budget's data starts (after a restart, the oldest replayed window); "-" before any."""
    return "-" if math.isnan(ts) else time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


async def cmd_slo(c: HelperClient, args: Any, emit: Emit) -> int:
    slos = [dict(s) for s in (await c.call("GetSlo"))[0]]
    rows = [
        (
            s["name"],
            f"{s['objective'] * 100:g}% of {_span(s['window_s'])}",
            f"{s['bad_windows']}/{s['total_windows']}",
            f"{s['budget_remaining'] * 100:.0f}%",
            f"{s['burn_fast']:.2g}x",
            f"{s['burn_slow']:.2g}x",
            f"{_value(s['last_value'])} {'ok' if s['last_good'] else 'BAD'}",
            _since(float(s.get("since", math.nan))),
        )
        for s in slos
    ]
    headers = ("SLO", "OBJECTIVE", "BAD/JUDGED", "BUDGET-LEFT", "BURN-FAST", "BURN-SLOW", "LAST", "SINCE")
    emit(slos, table(headers, rows) if rows else "no SLOs configured")
    # Exit 1 when any budget is spent, so scripts can alert on it.
    return 1 if any(s["budget_remaining"] <= 0 for s in slos) else 0


async def cmd_alerts(c: HelperClient, args: Any, emit: Emit) -> int:
    alerts = [dict(a) for a in (await c.call("GetAlerts"))[0]]
    rows = [
        (
            a["severity"].upper(),
            time.strftime("%H:%M:%S", time.localtime(float(a.get("since", 0)))),
            a["id"],
            a["message"],
        )
        for a in alerts
    ]
    emit(alerts, table(("SEVERITY", "SINCE", "ID", "MESSAGE"), rows) if rows else "no alerts")
    return 1 if any(a["severity"] == "critical" for a in alerts) else 0


async def cmd_report(c: HelperClient, args: Any, emit: Emit) -> int:
    try:
        seconds = parse_since(args.since)
    except StoreError as exc:
        raise CliError(str(exc), 2) from None
    text = str((await c.call("GetReport", float(seconds), args.format))[0])
    if args.output:
        out = Path(args.output)
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise CliError(f"{out}: cannot write the report: {exc.strerror}") from None
        print(f"report of the last {args.since} written to {out}", file=sys.stderr)
        return 0
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0
