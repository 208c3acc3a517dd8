"""The helper's transport-agnostic API: what the bus adaptor (and tests) call."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smoothdesk import __version__
from smoothdesk.collector.capabilities import probe
from smoothdesk.core.classes import PriorityClass
from smoothdesk.core.decision import Pin
from smoothdesk.core.group import AppGroup
from smoothdesk.dbus import errors
from smoothdesk.helper import admin
from smoothdesk.telemetry.report_format import render_report
from smoothdesk.telemetry.schema import StoreError

if TYPE_CHECKING:
    from smoothdesk.helper.daemon import Daemon
    from smoothdesk.helper.history import History
    from smoothdesk.helper.status import HelperStatus
    from smoothdesk.helper.telemetry import Telemetry


def _or(value: float | None, default: float) -> float:
    return default if value is None else value


class Controller:
    """Handlers validate and record intent, then wake the loop; only the loop changes the system.

    Reads come from the daemon's frozen status and the telemetry's reads; changes go through
    the daemon's methods."""

    def __init__(
        self,
        daemon: Daemon,
        telemetry: Telemetry,
        history: History,
        *,
        proc_root: Path,
        rules_write_path: Path,
        ananicy_extra_root: Path | None,
    ) -> None:
        self.d = daemon
        self.telemetry = telemetry
        self.hist = history
        self.proc_root = proc_root
        self.rules_write_path = rules_write_path
        self.ananicy_extra_root = ananicy_extra_root

    # reads

    def status(self) -> dict[str, Any]:
        st = self.d.status()
        now = time.monotonic()
        paused_for = 0.0
        if st.paused_until is not None:
            paused_for = max(0.0, st.paused_until - now)
        status: dict[str, Any] = {
            "version": __version__,
            "mode": "user" if st.user_mode else "root",
            "uid": st.uid,
            "pid": os.getpid(),
            "paused": st.paused(now),
            "paused_for": paused_for,
            "dry_run": st.dry_run,
            "tick": st.tick_seconds,
            "ticks": st.ticks,
            "uptime": now - st.started,
            "groups": len(st.groups),
            "processes": len(st.processes),
            "demoted": sum(1 for x in st.decisions.values() if x.demotes),
            "managed_processes": st.managed_processes,
            "netlink": st.netlink,
            "cgroup_backend": st.cgroup_backend,
            "rules": st.rules,
            "rule_diagnostics": st.rule_diagnostics,
            "tick_cost_ms": st.tick_cost * 1000.0,
            "stage_ms": {k: v * 1000.0 for k, v in st.stage_costs.items()},
            "fast_path_events": st.fast_path_count,
            "input_idle": _or(st.input_idle(now), -1.0),
            "reporters": st.reporters,
            "unmeasured": list(st.unmeasured),
        }
        if st.system is not None:
            sysstats = st.system
            status.update(
                cpu_busy=sysstats.cpu_busy,
                mem_total=sysstats.mem_total,
                mem_available=sysstats.mem_available,
                swap_total=sysstats.swap_total,
                swap_free=sysstats.swap_free,
                psi_cpu_some=sysstats.psi_value("cpu"),
                psi_io_some=sysstats.psi_value("io"),
                psi_memory_some=sysstats.psi_value("memory"),
            )
        return status

    def apps(self) -> list[dict[str, Any]]:
        st = self.d.status()
        return [self._describe(st, g) for g in st.groups.values()]

    def app(self, ref: str) -> dict[str, Any]:
        st = self.d.status()
        return self._describe(st, self._resolve(st, ref))

    def rules(self) -> list[dict[str, Any]]:
        return list(self.d.status().rule_listing)

    def app_owner(self, ref: str) -> int:
        return self._resolve(self.d.status(), ref).uid

    def config(self) -> dict[str, Any]:
        settings = self.d.status().settings
        return {
            f"{section}.{key}": {"value": value, "origin": settings.origins.get(f"{section}.{key}", "")}
            for section, values in settings.values.items()
            for key, value in values.items()
        }

    def doctor(self) -> list[dict[str, Any]]:
        root = self.proc_root
        return [
            {"key": f.key, "status": f.status, "summary": f.summary, "meaning": f.meaning}
            for f in probe(root)
        ] + self.telemetry.findings()

    def history(self, seconds: float) -> list[dict[str, Any]]:
        return self.hist.since(seconds)

    def alerts(self) -> list[dict[str, Any]]:
        return self.telemetry.active_alerts()

    def slo(self) -> list[dict[str, Any]]:
        return [dict(s.to_dict()) for s in self.telemetry.slo_status()]

    def report(self, seconds: float, fmt: str) -> str:
        writer = self.telemetry.writer
        if writer is None:
            why = "; ".join(p for p in self.telemetry.problems if p.startswith("snapshot log")) or (
                "store.enabled is off" if not self.telemetry.store_settings.enabled else "dry run"
            )
            raise errors.NotFound(f"no snapshot log to report from ({why})")
        try:
            return render_report(writer.store, seconds, fmt)
        except StoreError as exc:
            raise errors.BusError(str(exc)) from None

    # changes (caller_uid comes from the bus, never from arguments)

    # The adaptor has authorized these against the app's owner (demote-own, adjust-own or
    # adjust-any) before they arrive here.

    def set_class(self, caller_uid: int, ref: str, class_name: str, duration: float) -> None:
        group = self._resolve(self.d.status(), ref)
        until = time.monotonic() + duration if duration > 0 else None
        self.d.pin(Pin(group.id, PriorityClass.parse(class_name), until, caller_uid))

    def clear_class(self, caller_uid: int, ref: str) -> None:
        group = self._resolve(self.d.status(), ref)
        if not self.d.unpin(group.id):
            raise errors.NotFound(f"app {ref!r} has no pinned class")

    def pause(self, caller_uid: int, duration: float) -> None:
        self.d.set_paused(time.monotonic() + duration if duration > 0 else float("inf"))

    def resume(self, caller_uid: int) -> None:
        self.d.set_paused(None)

    def reload_rules(self, caller_uid: int) -> list[str]:
        return self.d.reload()

    def report_focus(self, caller_uid: int, process: tuple[int, int] | None, source: str = "") -> None:
        self.d.set_hints(source, caller_uid, focused=dict([process] if process is not None else []))

    def report_audio(self, caller_uid: int, processes: list[tuple[int, int]], source: str = "") -> None:
        self.d.set_hints(source, caller_uid, audio=dict(processes))

    def report_idle(self, caller_uid: int, seconds: float, source: str = "") -> None:
        self.d.report_idle(source, caller_uid, seconds)

    def report_xruns(
        self, caller_uid: int, name: str, count: int, by_pid: dict[int, int], source: str = ""
    ) -> None:
        self.d.report_xruns(source, caller_uid, name, count, by_pid)

    def report_unknown(self, caller_uid: int, kind: str, reason: str, source: str = "") -> None:
        self.d.report_unknown(source, caller_uid, kind, reason)

    def reporter_left(self, source: str) -> None:
        self.d.drop_reporter(source)

    def add_rule(self, caller_uid: int, rule: dict[str, str]) -> str:
        return admin.add_rule(self.d, self.rules_write_path, rule)

    def delete_rule(self, caller_uid: int, matchers: dict[str, str]) -> int:
        return admin.delete_rule(self.d, self.rules_write_path, matchers)

    def import_ananicy(self, caller_uid: int, path: str) -> dict[str, Any]:
        return admin.import_ananicy(self.d, self.ananicy_extra_root, path)

    # helpers

    @staticmethod
    def _resolve(st: HelperStatus, ref: str) -> AppGroup:
        groups = st.groups
        if ref in groups:
            return groups[ref]
        if ref.isascii() and ref.isdigit():  # "²".isdigit() holds, but int() refuses it
            pid = int(ref)
            for group in groups.values():
                if pid in group.members:
                    return group
        named = [g for g in groups.values() if g.name == ref]
        if len(named) == 1:
            return named[0]
        if len(named) > 1:
            ids = ", ".join(g.id for g in named[:5])
            raise errors.InvalidArgument("app", f"{len(named)} apps are named {ref!r}: use an id ({ids})")
        raise errors.NotFound(f"no app {ref!r} (see 'smoothdeskctl apps')")

    def _describe(self, st: HelperStatus, group: AppGroup) -> dict[str, Any]:
        decision = st.decisions.get(group.id)
        procs = st.processes
        members = [procs[p] for p in group.members if p in procs]
        leader = procs.get(group.leader)
        pin = st.pins.get(group.id)
        return {
            "id": group.id,
            "name": group.name,
            "kind": group.kind,
            "uid": group.uid,
            "unit": group.unit or "",
            "class": decision.klass.value if decision else "normal",
            "summary": decision.summary if decision else "normal",
            "members": [
                {"pid": m.pid, "class": m.klass.value, "label": m.label, "reason": str(m.reason)}
                for m in (decision.members if decision else ())
            ],
            "managed": bool(decision and decision.manage),
            "reasons": [str(r) for r in decision.reasons] if decision else [],
            "pinned": pin.klass.value if pin else "",
            "pin_remaining": max(0.0, pin.until - time.monotonic()) if pin and pin.until else 0.0,
            "cpu": sum(p.cpu_tick for p in members),
            "cpu_10s": sum(p.cpu_10s for p in members),
            "rss": sum(p.rss for p in members),
            "io_rate": sum(p.io_read_rate + p.io_write_rate for p in members),
            "nice": leader.nice if leader else (members[0].nice if members else 0),
            "pids": list(group.members),
            # What the person started (the leader's command line) and where: a build reads as
            # "make -j8" in ~/src/foo, not as its "bash" or "timeout" leader. Read per ListApps, not per tick.
            "command": list(leader.cmdline) if leader else [],
            "cwd": self._cwd(group.leader),
        }

    def _cwd(self, pid: int) -> str:
        try:
            return str((self.proc_root / "proc" / str(pid) / "cwd").readlink())
        except OSError:
            return ""
