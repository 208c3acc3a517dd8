"""smoothdeskctl: everything the tray app can do, from a terminal, with --json."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
from typing import Any

from smoothdesk import __version__
from smoothdesk.cli import commands, manage, telemetry
from smoothdesk.cli.errors import CliError
from smoothdesk.core.classes import PriorityClass
from smoothdesk.core.errors import SmoothDeskError
from smoothdesk.core.matchers import MATCHER_KEYS
from smoothdesk.dbus.client import HelperClient, connect
from smoothdesk.dbus.errors import BusError

CLASSES = [c.value for c in PriorityClass]
REMOTE = {
    "status": commands.cmd_status,
    "apps": commands.cmd_apps,
    "set-class": commands.cmd_set_class,
    "clear": commands.cmd_clear,
    "pause": commands.cmd_pause,
    "resume": commands.cmd_resume,
    "reload": commands.cmd_reload,
    "history": manage.cmd_history,
    "slo": telemetry.cmd_slo,
    "alerts": telemetry.cmd_alerts,
    "report": telemetry.cmd_report,
}
RULES = {
    "list": commands.cmd_rules_list,
    "add": manage.cmd_rules_add,
    "delete": manage.cmd_rules_delete,
    "import": manage.cmd_rules_import,
}


def build_parser() -> argparse.ArgumentParser:
    # Global options work before or after the subcommand. The subcommands' copies default to
    # SUPPRESS so that they do not overwrite a value given before the subcommand.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output"
    )
    common.add_argument(
        "--bus", default=argparse.SUPPRESS, help="system, session, auto (default) or a D-Bus address"
    )
    p = argparse.ArgumentParser(prog="smoothdeskctl", description=__doc__)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--bus", default="auto", help="system, session, auto (default) or a D-Bus address")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    s = sub.add_parser("status", parents=[common], help="helper state and system pressure")
    s.add_argument("--watch", action="store_true", help="refresh until Ctrl-C")
    s.add_argument("--interval", type=float, default=1.0, help="seconds between refreshes")
    s.add_argument("--top", type=int, default=15, help="apps shown with --watch")
    a = sub.add_parser("apps", parents=[common], help="apps with class, reasons, CPU, RSS, nice")
    a.add_argument("app", nargs="?", help="show only this app (id, name or pid)")
    sc = sub.add_parser("set-class", parents=[common], help="pin an app to a class")
    sc.add_argument("app", help="app id, name or a member pid")
    sc.add_argument("klass", metavar="CLASS", choices=CLASSES, help=" | ".join(CLASSES))
    sc.add_argument("--for", dest="duration", help="only for this long (90s, 15m, 1h, 2d)")
    cl = sub.add_parser("clear", parents=[common], help="remove an app's pin")
    cl.add_argument("app")
    pa = sub.add_parser("pause", parents=[common], help="undo all changes and stop managing")
    pa.add_argument("duration", nargs="?", help="how long (default: until resume)")
    sub.add_parser("resume", parents=[common], help="resume managing")
    sub.add_parser("reload", parents=[common], help="reload config and rules in the helper")
    r = sub.add_parser("rules", parents=[common], help="list or check rules")
    rsub = r.add_subparsers(dest="rules_command", required=True, metavar="ACTION")
    rsub.add_parser("list", parents=[common], help="rules loaded in the helper")
    rc = rsub.add_parser("check", parents=[common], help="validate rule files locally")
    rc.add_argument("--ananicy", action="append", metavar="DIR", help="an ananicy-cpp rules dir")
    rc.add_argument("--dir", action="append", metavar="DIR", help="SmoothDesk rule dirs")
    ra = rsub.add_parser("add", parents=[common], help="add a rule in the helper (admin)")
    rd = rsub.add_parser("delete", parents=[common], help="delete rules with these matchers (admin)")
    for parser in (ra, rd):
        for field in MATCHER_KEYS:
            parser.add_argument(f"--{field}", metavar="TEXT", help=f"match on {field}")
    ra.add_argument("--type", metavar="TYPE", help="a rule type")
    ra.add_argument("--class", dest="klass", choices=CLASSES, help=" | ".join(CLASSES))
    ri = rsub.add_parser("import", parents=[common], help="load an ananicy-cpp dir in the helper")
    ri.add_argument("dir", metavar="DIR")
    h = sub.add_parser("history", parents=[common], help="recent per-tick metrics from the helper")
    h.add_argument("--since", metavar="DURATION", help="how far back (default 10m, at most 1h)")
    sub.add_parser("slo", parents=[common], help="SLOs: error budget left and burn rates")
    sub.add_parser("alerts", parents=[common], help="alerts in force (exit 1 if any is critical)")
    rp = sub.add_parser("report", parents=[common], help="a report of the helper's snapshot log")
    rp.add_argument("--since", default="24h", help="how far back: 90s, 30m, 24h, 7d (default 24h)")
    rp.add_argument("--format", choices=("json", "csv", "html"), default="json", help="default json")
    rp.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of standard output")
    d = sub.add_parser("doctor", parents=[common], help="what works on this machine and why")
    d.add_argument("--root", default="/", help=argparse.SUPPRESS)
    d.add_argument("--helper", action="store_true", help="the helper's findings, over D-Bus")
    return p


def _emitter(as_json: bool) -> Any:
    def emit(data: Any, text: str) -> None:
        if as_json:
            json.dump(data, sys.stdout, default=str)
            sys.stdout.write("\n")
            sys.stdout.flush()
        elif text:
            print(text, flush=True)

    return emit


async def _client(spec: str) -> HelperClient:
    """'auto' prefers a root helper on the system bus, then a user-mode one on the session bus."""
    if spec != "auto":
        return HelperClient(await connect(spec))
    last: Exception | None = None
    for candidate in ("system", "session"):
        if candidate == "session" and not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
            continue
        try:
            client = HelperClient(await connect(candidate))
            await client.status()
            return client
        except BusError as exc:
            last = exc
    raise CliError(f"no SmoothDesk helper found ({last}); start one with 'smoothdesk-helper --bus session'")


async def _helper_state(spec: str) -> str:
    try:
        client = await _client(spec)
        status = await client.status()
        return f"running (pid {status['pid']}, {status['mode']} mode)"
    except SmoothDeskError as exc:
        return f"not reachable: {exc}"


async def _run(args: argparse.Namespace) -> int:
    emit = _emitter(args.json)
    if args.command == "doctor" and not args.helper:
        from smoothdesk.cli.local import cmd_doctor

        return cmd_doctor(args, emit, await _helper_state(args.bus))
    if args.command == "rules" and args.rules_command == "check":
        from smoothdesk.cli.local import cmd_rules_check

        return cmd_rules_check(args, emit)
    client = await _client(args.bus)
    try:
        if args.command == "rules":
            return await RULES[args.rules_command](client, args, emit)
        if args.command == "doctor":
            return await manage.cmd_doctor_helper(client, args, emit)
        return await REMOTE[args.command](client, args, emit)
    finally:
        # A clean disconnect, so that Ctrl-C in --watch leaves no dangling reader behind.
        client.bus.disconnect()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.bus.wait_for_disconnect(), 1.0)  # type: ignore[no-untyped-call]


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return asyncio.run(_run(args))
    except CliError as exc:
        print(f"smoothdeskctl: {exc}", file=sys.stderr)
        return exc.status
    except SmoothDeskError as exc:
        print(f"smoothdeskctl: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
