"""The smoothdeskctl subcommands that talk to the helper over D-Bus."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import Any

from smoothdesk.cli.format import human_bytes, human_seconds, parse_duration, table
from smoothdesk.dbus.client import HelperClient


def render_status(s: dict[str, Any]) -> str:
    state = "paused" if s.get("paused") else ("dry run" if s.get("dry_run") else "managing")
    if s.get("paused") and s.get("paused_for", 0) not in (0, float("inf")):
        state += f" ({human_seconds(s['paused_for'])} left)"
    lines = [
        f"SmoothDesk helper {s.get('version', '?')}  pid {s.get('pid')}  {s.get('mode')} mode  {state}",
        f"  tick {s.get('tick', 0):.2f}s  ticks {s.get('ticks')}  cost {s.get('tick_cost_ms', 0):.2f} ms"
        f"  netlink {'on' if s.get('netlink') else 'off'}  cgroups {s.get('cgroup_backend')}",
        f"  {s.get('processes')} processes in {s.get('groups')} apps;"
        f" {s.get('demoted')} apps demoted ({s.get('managed_processes')} processes changed)",
        f"  rules {s.get('rules')}  rule problems {s.get('rule_diagnostics')}",
    ]
    if "cpu_busy" in s:
        mem_used = s["mem_total"] - s["mem_available"]
        lines.append(
            f"  CPU {s['cpu_busy']:.0f}%  memory {human_bytes(mem_used)}/{human_bytes(s['mem_total'])}"
            f"  PSI some avg10: cpu {s['psi_cpu_some']:.1f}% io {s['psi_io_some']:.1f}%"
            f" memory {s['psi_memory_some']:.1f}%"
        )
    # An agent that cannot measure audio or focus now: the helper is not told, so it cannot act.
    lines.extend(f"  not measured: {line}" for line in s.get("unmeasured", ()))
    return "\n".join(lines)


def render_apps(apps: list[dict[str, Any]], limit: int | None = None) -> str:
    apps = sorted(apps, key=lambda a: (-a["cpu_10s"], a["name"]))[:limit]
    rows = [
        (
            a["id"],
            a["name"],
            a.get("summary", a["class"]) + ("*" if a["pinned"] else ""),
            f"{a['cpu']:.1f}",
            human_bytes(a["rss"]),
            a["nice"],
            "; ".join(a["reasons"]),
        )
        for a in apps
    ]
    return table(("APP", "NAME", "CLASS", "CPU%", "RSS", "NICE", "WHY"), rows)


async def cmd_status(c: HelperClient, args: Any, emit: Callable[[Any, str], None]) -> int:
    if not getattr(args, "watch", False):
        s = await c.status()
        emit(s, render_status(s))
        return 0
    clear = "\x1b[H\x1b[2J" if sys.stdout.isatty() else ""
    while True:
        s = await c.status()
        apps = await c.apps()
        text = render_status(s) + "\n\n" + render_apps(apps, limit=args.top)
        if args.json:
            emit({"status": s, "apps": apps}, "")
        else:
            print(clear + text, flush=True)
        await asyncio.sleep(args.interval)


async def cmd_apps(c: HelperClient, args: Any, emit: Callable[[Any, str], None]) -> int:
    apps = await c.apps()
    if args.app:
        apps = [await c.app(args.app)]
    emit(apps, render_apps(apps))
    return 0


async def cmd_set_class(c: HelperClient, args: Any, emit: Callable[[Any, str], None]) -> int:
    duration = parse_duration(args.duration, "--for") if args.duration else 0.0
    await c.set_class(args.app, args.klass, duration)
    how = f" for {human_seconds(duration)}" if duration else " until cleared"
    emit(
        {"app": args.app, "class": args.klass, "duration": duration},
        f"{args.app}: {args.klass}{how}",
    )
    return 0


async def cmd_clear(c: HelperClient, args: Any, emit: Callable[[Any, str], None]) -> int:
    await c.clear_class(args.app)
    emit({"app": args.app, "cleared": True}, f"{args.app}: back to automatic")
    return 0


async def cmd_pause(c: HelperClient, args: Any, emit: Callable[[Any, str], None]) -> int:
    duration = parse_duration(args.duration) if args.duration else 0.0
    await c.pause(duration)
    text = f"paused for {human_seconds(duration)}" if duration else "paused until resumed"
    emit({"paused": True, "duration": duration}, text + "; every change was undone")
    return 0


async def cmd_resume(c: HelperClient, args: Any, emit: Callable[[Any, str], None]) -> int:
    await c.resume()
    emit({"paused": False}, "resumed")
    return 0


async def cmd_rules_list(c: HelperClient, args: Any, emit: Callable[[Any, str], None]) -> int:
    rules = await c.rules()
    rows = [(r.get("label", ""), r.get("type", ""), r.get("class", ""), r.get("source", "")) for r in rules]
    emit(rules, table(("MATCH", "TYPE", "CLASS", "SOURCE"), rows))
    return 0


async def cmd_reload(c: HelperClient, args: Any, emit: Callable[[Any, str], None]) -> int:
    messages = await c.reload_rules()
    emit({"diagnostics": messages}, "\n".join(messages) or "reloaded; no problems")
    return 0
