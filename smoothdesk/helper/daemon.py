"""Composition root and tick loop: collect -> group -> classify -> decide -> actuate."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Iterable
from typing import Any

from smoothdesk.actuator import Actuator, backend_for
from smoothdesk.collector.cgroups import probe_layout
from smoothdesk.collector.netlink import ProcConnector
from smoothdesk.collector.tracker import ProcessTable
from smoothdesk.config.loader import load_settings
from smoothdesk.config.paths import config_files, run_dir, state_dir
from smoothdesk.config.schema import Settings
from smoothdesk.core.decision import Decision, Hints
from smoothdesk.core.group import AppGroup, Classification
from smoothdesk.core.process import ProcessRecord
from smoothdesk.core.snapshot import Snapshot
from smoothdesk.helper.history import History
from smoothdesk.helper.incremental import (
    actuation_set,
    changed_pids,
    dirty_groups,
    grouping_changed,
    live_groups,
)
from smoothdesk.helper.options import Options
from smoothdesk.helper.pins import PinStore
from smoothdesk.helper.reporters import ReportBook
from smoothdesk.helper.rulebook import RuleBook, default_write_path
from smoothdesk.helper.settings import HelperSettings
from smoothdesk.helper.telemetry import Telemetry
from smoothdesk.policy.engine import EngineConfig, PolicyInputs, PolicyState, decide
from smoothdesk.policy.grouper import group_processes, regroup_changed
from smoothdesk.policy.ranker import RuleOnlyRanker

log = logging.getLogger("smoothdesk.helper")

# A full round (regroup, reclassify and decide everything) this often, as a safety net under the
# incremental rounds in between.
FULL_EVERY = 60


class Daemon:
    """Owns all state; handlers only record intent and call wake()."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.uid = os.geteuid()
        self.user_mode = options.user or self.uid != 0
        self.settings: Settings = load_settings(config_files(self.user_mode), options.config)
        self.config = HelperSettings.from_settings(self.settings)
        self.dry_run = options.dry_run or self.config.dry_run
        self.tick_seconds = options.tick or self.config.tick
        self.run_dir = options.run_dir or run_dir(self.user_mode)
        if not self.dry_run:
            self.run_dir.mkdir(parents=True, exist_ok=True, mode=0o755)
        self.table = ProcessTable(options.proc_root, full_every=self.config.full_scan_every)
        self.rules_write_path = options.rules_write_path or default_write_path(self.user_mode)
        self.rulebook = RuleBook(self.user_mode, self.config, self.rules_write_path)
        self.history = History(self.tick_seconds)
        backend = backend_for(self.config.cgroup, probe_layout(options.sys_root), user_mode=self.user_mode)
        self.cgroup_backend_name = backend.name if backend is not None else "off"
        self.actuator = Actuator(
            self.run_dir,
            dry_run=self.dry_run,
            user_uid=self.uid if self.user_mode else None,
            cgroup_backend=backend,
        )
        self.pins = PinStore(None if self.dry_run else self.run_dir / "pins.json")
        self.engine_config = self._engine_config()
        self.telemetry = Telemetry(
            self.settings,
            user_mode=self.user_mode,
            uid=self.uid,
            dry_run=self.dry_run,
            state_dir=options.state_dir or state_dir(self.user_mode),
            sys_root=options.sys_root,
        )
        self.ranker = self.telemetry.ranker or RuleOnlyRanker()
        self.policy_state = PolicyState()
        self.hints = Hints()
        self.reports = ReportBook()
        self.netlink: ProcConnector | None = None
        self._self_pids = frozenset({os.getpid()})
        self.snapshot: Snapshot | None = None
        self.groups: dict[str, AppGroup] = {}
        self.decisions: dict[str, Decision] = {}
        self.classifications: dict[int, Classification] = {}
        self.paused_until: float | None = None
        self.ticks = 0
        self.started = time.monotonic()
        self.last_tick_cost = 0.0
        self.stage_costs: dict[str, float] = {}
        self.fast_path_count = 0
        self.demoted_groups = 0
        self._merged_for: dict[str, AppGroup] | None = None
        self.on_apps_changed: list[Any] = []
        self.on_status_changed: list[Any] = []
        self.on_metrics: list[Any] = []
        self.on_alert: list[Any] = []
        self._force_full = True
        self._regroup = True
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()

    # properties used by the controller

    @property
    def own_pids(self) -> frozenset[int]:
        """The helper and its probe's sampler: never grouped, classified or demoted."""
        return self._self_pids | self.telemetry.child_pids()

    @property
    def paused(self) -> bool:
        return self.paused_until is not None and self.paused_until > time.monotonic()

    @property
    def rule_count(self) -> int:
        return self.rulebook.count

    @property
    def diagnostics(self) -> list[str]:
        return self.rulebook.diagnostics

    def rule_listing(self) -> list[dict[str, Any]]:
        return self.rulebook.listing()

    def _engine_config(self) -> EngineConfig:
        return EngineConfig(**self.settings.values["engine"])  # the loader checked every field

    # control

    def wake(self, full: bool = True) -> None:
        self._force_full = self._force_full or full
        self._wake.set()

    async def wait_wake(self) -> None:
        await self._wake.wait()
        self._wake.clear()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def set_paused(self, until: float | None) -> None:
        self.paused_until = until
        if until is not None:
            self.actuator.restore_all()
        log.info("paused" if until is not None else "resumed")
        self._emit_status()
        self.wake()

    def reload(self) -> list[str]:
        """Reload config and rules; on a bad config keep the running one and say why."""
        try:
            settings = load_settings(config_files(self.user_mode), self.options.config)
        except Exception as exc:
            log.error("config not reloaded: %s", exc)
            return [f"error: {exc}"]
        self.settings = settings
        self.config = HelperSettings.from_settings(settings)
        self.engine_config = self._engine_config()
        messages = self.rulebook.reload(self.config)
        self.classifications.clear()
        log.info("reloaded: %d rules, %d diagnostics", self.rulebook.count, len(messages))
        self._emit_status()
        self.wake()
        return messages

    def _emit_status(self) -> None:
        for callback in self.on_status_changed:
            callback()

    # the tick

    def tick(self, now: float | None = None) -> dict[str, Decision]:
        """One round. Only what changed is regrouped, classified and decided; every
        FULL_EVERY ticks (and after a reload, pin, pause or hint) everything is."""
        now = time.monotonic() if now is None else now
        t0 = time.process_time()
        snapshot = self.table.tick(now)
        self._prune_hints(snapshot.processes)
        t1 = time.process_time()
        prev = self.snapshot.processes if self.snapshot is not None else {}
        procs = snapshot.processes
        full = self._force_full or self.ticks % FULL_EVERY == 0 or self.snapshot is None
        changed = list(procs) if full else changed_pids(prev, procs)
        previous_groups = self.groups
        if full or self._regroup:
            self.groups = {g.id: g for g in group_processes(snapshot, self.own_pids)}
            self._regroup = False
        elif grouping_changed(prev, procs, changed):
            moved = [procs[p] for p in changed]
            self.groups, _ = self._regrouped(snapshot, moved, prev.keys() - procs.keys())
        t2 = time.process_time()
        self._classify(snapshot, changed, full)
        self.telemetry.before_decide(
            snapshot,
            list(self.groups.values()),
            self.classifications,
            self.decisions,
            self.hints,
            input_idle=self.reports.idle_seconds(),
        )
        t3 = time.process_time()
        if full:
            todo = list(self.groups.values())
        else:
            extra = live_groups(self.policy_state) | set(self.pins.pins)
            todo = dirty_groups(self.groups, previous_groups, changed, extra)
        fresh = self._decide(snapshot, todo, now, prune=full)
        t4 = time.process_time()
        self.snapshot = snapshot
        self._force_full = False
        self._merge(fresh)
        self.pins.prune(set(self.groups))
        if not self.paused:
            targets = actuation_set(self.decisions, self.groups, todo)
            self.actuator.apply(self.decisions, targets, procs)
        t5 = time.process_time()
        self._account(
            {"collect": t1 - t0, "group": t2 - t1, "classify": t3 - t2, "decide": t4 - t3, "actuate": t5 - t4}
        )
        return self.decisions

    def _merge(self, fresh: dict[str, Decision]) -> None:
        """Fold new decisions in, drop those of vanished groups, and tell listeners."""
        if self.groups is self._merged_for:
            decisions = dict(self.decisions)  # no regroup since the last merge: no group vanished
        else:
            decisions = {g: d for g, d in self.decisions.items() if g in self.groups}
            self._merged_for = self.groups
        vanished = len(decisions) != len(self.decisions)
        changed = [g for g, d in fresh.items() if decisions.get(g) != d]
        decisions.update(fresh)
        self.decisions = decisions
        if changed or vanished:  # counted only then: it looks at every group
            self.demoted_groups = sum(1 for d in decisions.values() if d.demotes)
        if changed:
            for callback in self.on_apps_changed:
                callback(changed)

    def _account(self, costs: dict[str, float]) -> None:
        # Smoothed, because one tick's cost swings with what happened to run in it.
        alpha = 0.1 if self.ticks else 1.0
        for stage, cost in costs.items():
            self.stage_costs[stage] = (1 - alpha) * self.stage_costs.get(stage, cost) + alpha * cost
        self.last_tick_cost = (1 - alpha) * self.last_tick_cost + alpha * sum(costs.values())
        self.ticks += 1
        if self.snapshot is not None:
            sample = self.history.record(self.snapshot, self.demoted_groups, sum(costs.values()))
            self._telemetry(self.snapshot, sample)

    def _telemetry(self, snapshot: Snapshot, sample: dict[str, Any]) -> None:
        """Responsiveness figures, the snapshot log, SLOs, alerts and memory protection."""
        groups = list(self.groups.values())
        xruns = self.reports.take_xruns()  # None while no session agent counts audio xruns
        figures = self.telemetry.figures(snapshot, groups, self.decisions, snapshot.monotonic, xruns)
        top = figures.pop("top_apps")
        sample.update(figures)  # the history ring keeps these too, for GetHistory
        events = self.telemetry.after_tick(snapshot, groups, self.decisions, sample)
        plan = self.telemetry.memory_plan
        if plan is not None and not self.paused:
            self.actuator.apply_memory(plan, snapshot.processes, allow_kill=self.config.memory_kill)
        for callback in self.on_metrics:
            callback({**sample, "top_apps": top})
        for event in events:
            log.info("alert %s: %s", event.severity, event.message)
            for callback in self.on_alert:
                callback(event.to_dict())

    def set_hints(
        self,
        source: str,
        uid: int,
        *,
        focused: dict[int, int] | None = None,
        audio: dict[int, int] | None = None,
    ) -> None:
        """What one session agent (bus connection `source`) reported, as pid -> start time."""
        for pid in {**(focused or {}), **(audio or {})}:
            if pid not in self.table.processes:
                # Born since the table last listed /proc (no proc connector, or its events not
                # read yet): read it at the next tick, which the new hint wakes at once.
                self.table.defer_pid(pid)
        if focused is not None:
            self.reports.set_focus(source, uid, focused)
        if audio is not None:
            self.reports.set_audio(source, uid, audio)
        self._refresh_hints()

    def drop_reporter(self, source: str) -> None:
        """A session agent left the bus: its focus and audio stop counting at once."""
        if self.reports.drop(source):
            self._refresh_hints()

    def _refresh_hints(self) -> None:
        # New hints are decided on at once (the loop wakes), not at the next tick.
        hints = self.reports.hints()
        if hints != self.hints:
            self.hints = hints
            self.wake()

    def _prune_hints(self, procs: dict[int, ProcessRecord]) -> None:
        if self.reports.prune(procs):
            self._refresh_hints()

    def _classify(self, snapshot: Snapshot, pids: list[int], full: bool) -> None:
        procs = snapshot.processes
        if full:
            # Drop cached answers for dead processes now and then; cheap enough, not every tick.
            self.rulebook.classifier.retain(p.key for p in procs.values())
            self.classifications = {}
        else:
            for pid in [p for p in self.classifications if p not in procs]:
                del self.classifications[pid]
        for pid in pids:
            c = self.rulebook.classify(procs[pid], procs)
            if c is not None:
                self.classifications[pid] = c
            else:
                self.classifications.pop(pid, None)

    def _decide(
        self, snapshot: Snapshot, groups: list[AppGroup], now: float, prune: bool = False
    ) -> dict[str, Decision]:
        inputs = PolicyInputs(
            snapshot=snapshot,
            groups=tuple(groups),
            classifications=self.classifications,
            pins=self.pins.active(now),
            hints=self.hints,
            now=now,
            config=self.engine_config,
            ranker=self.ranker,
            user_mode_uid=self.uid if self.user_mode else None,
            managed_keys=self.actuator.managed_keys(),
            own_pids=self.own_pids,
            paused=self.paused,
            prune=prune,
        )
        decisions, self.policy_state = decide(inputs, self.policy_state)
        return decisions

    # the fast path between ticks

    def regroup(self, added: list[ProcessRecord]) -> list[AppGroup]:
        """Regroup after new processes appeared; return the groups they landed in."""
        assert self.snapshot is not None
        procs = self.snapshot.processes
        self.groups, rebuilt = self._regrouped(self.snapshot, added, ())
        for proc in added:
            c = self.rulebook.classify(proc, procs)
            if c is not None:
                self.classifications[proc.pid] = c
        wanted = {p.pid for p in added}
        return [g for g in rebuilt.values() if wanted.intersection(g.members)]

    def _regrouped(
        self, snapshot: Snapshot, changed: list[ProcessRecord], exited: Iterable[int]
    ) -> tuple[dict[str, AppGroup], dict[str, AppGroup]]:
        """A new groups dict with only the touched groups rebuilt (the tick compares it with the
        old one), sorted like group_processes' when a group appeared; and the rebuilt groups."""
        rebuilt, emptied = regroup_changed(self.groups, snapshot, changed, exited, self.own_pids)
        groups = {gid: g for gid, g in self.groups.items() if gid not in emptied}
        fresh = not rebuilt.keys() <= groups.keys()
        groups.update(rebuilt)
        return (dict(sorted(groups.items())) if fresh else groups), rebuilt

    def decide_and_apply(self, groups: list[AppGroup], now: float) -> None:
        assert self.snapshot is not None
        self._merge(self._decide(self.snapshot, groups, now))
        if not self.paused:
            targets = actuation_set(self.decisions, self.groups, groups)
            self.actuator.apply(self.decisions, targets, self.snapshot.processes)

    def process_exited(self, pid: int) -> None:
        if self.snapshot is not None:
            self.snapshot.processes.pop(pid, None)
        self.table.forget(pid)
        self._regroup = True
