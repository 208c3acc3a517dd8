"""The tick round (collect -> group -> classify -> decide -> actuate) and the only writer of its state.

wiring.build makes the parts and hands them in; the controller and the bus read status() and ask
for changes through the methods here, which record them and wake the loop.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from smoothdesk.core.decision import Decision, Pin
from smoothdesk.core.group import AppGroup, Classification
from smoothdesk.core.snapshot import Snapshot
from smoothdesk.helper.incremental import (
    actuation_set,
    changed_pids,
    dirty_groups,
    grouping_changed,
    live_groups,
    regrouped,
)
from smoothdesk.helper.parts import Listeners, Parts
from smoothdesk.helper.settings import HelperSettings, engine_config
from smoothdesk.helper.status import HelperStatus, freeze
from smoothdesk.policy.engine import PolicyInputs, PolicyState, decide
from smoothdesk.policy.grouper import group_processes
from smoothdesk.policy.memory import MemoryPlan

log = logging.getLogger("smoothdesk.helper")

# A full round (regroup, reclassify and decide everything) this often, as a safety net under the
# incremental rounds in between.
FULL_EVERY = 60


class Daemon:
    """Owns all state; handlers only record intent and call wake()."""

    def __init__(self, parts: Parts) -> None:
        self.parts = p = parts
        self._table, self._rulebook, self._actuator, self._pins = p.table, p.rulebook, p.actuator, p.pins
        self._telemetry, self._attention, self._reports = p.telemetry, p.attention, p.reports
        self._settings = parts.settings
        self._config = HelperSettings.from_settings(parts.settings)
        self._engine_config = engine_config(parts.settings)
        self.listeners = Listeners()
        self._policy_state = PolicyState()
        self._self_pids = frozenset({os.getpid()})
        self._snapshot: Snapshot | None = None
        self._groups: dict[str, AppGroup] = {}
        self._decisions: dict[str, Decision] = {}
        self._classifications: dict[int, Classification] = {}
        self._paused_until: float | None = None
        self._ticks = 0
        self._started = time.monotonic()
        self._tick_cost = 0.0
        self._stage_costs: dict[str, float] = {}
        self._fast_path_count = 0
        self._demoted_groups = 0
        self._netlink = False
        self._merged_for: dict[str, AppGroup] | None = None
        self._listed: tuple[dict[str, AppGroup] | None, list[AppGroup]] = (None, [])
        self._status: HelperStatus | None = None
        self._force_full = True
        self._regroup = True
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()

    # reads

    def status(self) -> HelperStatus:
        """The state as one frozen value, rebuilt only after something changed."""
        if self._status is None:
            self._status = freeze(
                self.parts, self._snapshot, self._groups, self._decisions, self._settings,
                started=self._started, ticks=self._ticks, paused_until=self._paused_until,
                tick_cost=self._tick_cost, stage_costs=self._stage_costs,
                fast_path_count=self._fast_path_count, netlink=self._netlink,
            )  # fmt: skip
        return self._status

    def _group_list(self) -> list[AppGroup]:
        """The groups as one list until the next regroup: core.group.owners indexes it once."""
        if self._listed[0] is not self._groups:
            self._listed = (self._groups, list(self._groups.values()))
        return self._listed[1]

    @property
    def own_pids(self) -> frozenset[int]:
        """The helper and its probe's sampler: never grouped, classified or demoted."""
        return self._self_pids | self._telemetry.child_pids()

    @property
    def paused(self) -> bool:
        return self._paused_until is not None and self._paused_until > time.monotonic()

    @property
    def accepts_events(self) -> bool:
        """Whether the fast path acts now: not before the first tick, not while paused."""
        return self._snapshot is not None and not self.paused

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

    def set_netlink(self, connected: bool) -> None:
        self._netlink = connected
        self._status = None

    def set_paused(self, until: float | None) -> None:
        self._paused_until = until
        if until is not None:
            self._actuator.restore_all()
        log.info("paused" if until is not None else "resumed")
        self._changed_status()
        self.wake()

    def pin(self, pin: Pin) -> None:
        self._pins.put(pin)
        self._status = None
        self.wake()

    def unpin(self, group_id: str) -> bool:
        found = self._pins.clear(group_id)
        if found:
            self._status = None
            self.wake()
        return found

    def reload(self) -> list[str]:
        """Reload config and rules; on a bad config keep the running one and say why."""
        try:
            settings = self.parts.load_settings()
        except Exception as exc:
            log.error("config not reloaded: %s", exc)
            return [f"error: {exc}"]
        self._settings = settings
        self._config = HelperSettings.from_settings(settings)
        self._engine_config = engine_config(settings)
        messages = self._rulebook.reload(self._config)
        self._classifications.clear()
        log.info("reloaded: %d rules, %d diagnostics", self._rulebook.count, len(messages))
        self._changed_status()
        self.wake()
        return messages

    def import_ananicy(self, directory: Path) -> list[str]:
        """Add an ananicy-cpp directory to this run's rules, then reload."""
        if directory not in self._rulebook.extra_ananicy:
            self._rulebook.extra_ananicy.append(directory)
        return self.reload()

    def _changed_status(self) -> None:
        self._status = None
        for callback in self.listeners.status_changed:
            callback()

    # session agents' reports

    def set_hints(
        self, source: str, uid: int, *, focused: dict[int, int] | None = None,
        audio: dict[int, int] | None = None,
    ) -> None:  # fmt: skip
        """What one session agent (bus connection `source`) reported, as pid -> start time."""
        for pid in {**(focused or {}), **(audio or {})}:
            if pid not in self._table.processes:
                # Born since the table last listed /proc (no proc connector, or its events not
                # read yet): read it at the next tick, which the new hint wakes at once.
                self._table.defer_pid(pid)
        if focused is not None:
            self._reports.set_focus(source, uid, focused)
        if audio is not None:
            self._reports.set_audio(source, uid, audio)
        self._reported(hints=True)

    def report_idle(self, source: str, uid: int, seconds: float) -> None:
        self._reports.set_idle(source, uid, seconds)
        self._reported()

    def report_xruns(self, source: str, uid: int, name: str, count: int, by_pid: dict[int, int]) -> None:
        self._reports.set_xruns(source, uid, name, count, by_pid)
        self._reported()

    def report_unknown(self, source: str, uid: int, kind: str, reason: str) -> None:
        self._reports.set_unknown(source, uid, kind, reason)
        self._reported(hints=True)

    def drop_reporter(self, source: str) -> None:
        """A session agent left the bus: its focus and audio stop counting at once."""
        if self._reports.drop(source):
            self._reported(hints=True)

    def _reported(self, hints: bool = False) -> None:
        self._status = None
        if hints and self._reports.refresh():
            self.wake()  # new hints are decided on at once, not at the next tick

    # the tick

    def warm_up(self, now: float) -> None:
        """A first read of the process table, so that the next tick has CPU shares to decide on."""
        self._table.tick(now)

    def tick(self, now: float | None = None) -> dict[str, Decision]:
        """One round. Only what changed is regrouped, classified and decided; every
        FULL_EVERY ticks (and after a reload, pin, pause or hint) everything is."""
        now = time.monotonic() if now is None else now
        t0 = time.process_time()
        snapshot = self._table.tick(now)
        if self._reports.prune(snapshot.processes) and self._reports.refresh():
            self.wake()
        t1 = time.process_time()
        prev = self._snapshot.processes if self._snapshot is not None else {}
        procs = snapshot.processes
        full = self._force_full or self._ticks % FULL_EVERY == 0 or self._snapshot is None
        changed = list(procs) if full else changed_pids(prev, procs, self._table.replaced)
        previous_groups = self._groups
        if full or self._regroup:
            self._groups = {g.id: g for g in group_processes(snapshot, self.own_pids)}
            self._regroup = False
        elif grouping_changed(prev, procs, changed):
            moved = [procs[p] for p in changed]
            exited = prev.keys() - procs.keys()
            self._groups, _ = regrouped(self._groups, snapshot, moved, exited, self.own_pids)
        t2 = time.process_time()
        self._classifications = self._rulebook.classify_changed(self._classifications, procs, changed, full)
        hints, classes = self._reports.current, self._classifications
        events = self._attention.observe(
            snapshot, self._group_list(), classes, self._decisions, hints,
            input_idle=self._reports.idle_seconds(),
        )  # fmt: skip
        self._telemetry.observe_focus(events, hints, classes)
        t3 = time.process_time()
        if full:
            todo = list(self._groups.values())
        else:
            extra = live_groups(self._policy_state) | set(self._pins.pins)
            todo = dirty_groups(self._groups, previous_groups, changed, extra, self._group_list())
        fresh = self._decide(snapshot, todo, now, prune=full)
        t4 = time.process_time()
        self._snapshot = snapshot
        self._force_full = False
        self._merge(fresh)
        self._pins.prune(set(self._groups))
        if not self.paused:
            targets = actuation_set(self._decisions, self._groups, todo)
            self._actuator.apply(self._decisions, targets, procs)
        t5 = time.process_time()
        self._account(
            {"collect": t1 - t0, "group": t2 - t1, "classify": t3 - t2, "decide": t4 - t3, "actuate": t5 - t4}
        )
        return self._decisions

    def _merge(self, fresh: dict[str, Decision]) -> None:
        """Fold new decisions in, drop those of vanished groups, and tell listeners."""
        self._status = None
        changed = [g for g, d in fresh.items() if self._decisions.get(g) != d]
        if self._groups is self._merged_for:
            if not changed:
                return  # the same dict and objects: readers can tell that nothing changed
            decisions = dict(self._decisions)  # no regroup since the last merge: no group vanished
        else:
            decisions = {g: d for g, d in self._decisions.items() if g in self._groups}
            self._merged_for = self._groups
        vanished = len(decisions) != len(self._decisions)
        decisions.update({g: fresh[g] for g in changed})  # an equal decision keeps its object
        self._decisions = decisions
        if changed or vanished:  # counted only then: it looks at every group
            self._demoted_groups = sum(1 for d in decisions.values() if d.demotes)
        if changed:
            for callback in self.listeners.apps_changed:
                callback(changed)

    def _account(self, costs: dict[str, float]) -> None:
        # Smoothed, because one tick's cost swings with what happened to run in it.
        alpha = 0.1 if self._ticks else 1.0
        for stage, cost in costs.items():
            self._stage_costs[stage] = (1 - alpha) * self._stage_costs.get(stage, cost) + alpha * cost
        self._tick_cost = (1 - alpha) * self._tick_cost + alpha * sum(costs.values())
        self._ticks += 1
        self._status = None
        if self._snapshot is not None:
            sample = self.parts.history.record(self._snapshot, self._demoted_groups, sum(costs.values()))
            self._after_tick(self._snapshot, sample)

    def _after_tick(self, snapshot: Snapshot, sample: dict[str, Any]) -> None:
        """The memory stage, then what telemetry observes: figures, the snapshot log, SLOs, alerts."""
        groups = self._group_list()
        xruns = self._reports.take_xruns()  # None while no session agent counts audio xruns
        figures = self._telemetry.figures(snapshot, groups, self._decisions, snapshot.monotonic, xruns)
        top = figures.pop("top_apps")
        sample.update(figures)  # the history ring keeps these too, for GetHistory
        plan = self._protect_memory(snapshot, groups)
        events = self._telemetry.after_tick(snapshot, groups, self._decisions, sample, plan)
        for callback in self.listeners.metrics:
            callback({**sample, "top_apps": top})
        for event in events:
            log.info("alert %s: %s", event.severity, event.message)
            for alert in self.listeners.alert:
                alert(event.to_dict())

    def _protect_memory(self, snapshot: Snapshot, groups: list[AppGroup]) -> MemoryPlan:
        """The memory stage: under pressure, protect the focused app and expose the background."""
        system = snapshot.system
        plan = self.parts.memory.update(
            snapshot.monotonic, system.psi_value("memory"), system.psi_value("memory", "full"),
            focused=self._attention.focused_id, groups=groups, decisions=self._decisions,
            processes=snapshot.processes,
        )  # fmt: skip
        if not self.paused:
            self._actuator.apply_memory(plan, snapshot.processes, allow_kill=self._config.memory_kill)
        return plan

    def _decide(
        self, snapshot: Snapshot, groups: Sequence[AppGroup], now: float, prune: bool = False
    ) -> dict[str, Decision]:
        inputs = PolicyInputs(
            snapshot=snapshot, groups=tuple(groups), classifications=self._classifications,
            pins=self._pins.active(now), hints=self._reports.current, now=now, config=self._engine_config,
            ranker=self._attention.ranker, user_mode_uid=self.parts.uid if self.parts.user_mode else None,
            managed_keys=self._actuator.managed_keys(), own_pids=self.own_pids, paused=self.paused,
            prune=prune,
        )  # fmt: skip
        decisions, self._policy_state = decide(inputs, self._policy_state)
        return decisions

    # the fast path between ticks (see fastpath.py for the events)

    def new_processes(self, pids: Iterable[int], now: float) -> None:
        """Processes that just exec'd: read now, regrouped, classified, decided and acted on
        for their groups alone, so a new hog is demoted within milliseconds."""
        if self._snapshot is None:
            return
        snapshot = self._snapshot
        procs = snapshot.processes
        added = []
        for pid in pids:
            record = self._table.add_pid(pid, now)
            if record is not None:
                procs[pid] = record
                added.append(record)
        if not added:
            return
        self._status = None
        self._groups, rebuilt = regrouped(self._groups, snapshot, added, (), self.own_pids)
        for proc in added:
            c = self._rulebook.classify(proc, procs)
            if c is not None:
                self._classifications[proc.pid] = c
        wanted = {p.pid for p in added}
        touched = [g for g in rebuilt.values() if wanted.intersection(g.members)]
        if not touched:
            return
        self._fast_path_count += len(added)
        self._merge(self._decide(snapshot, touched, now))
        if not self.paused:
            targets = actuation_set(self._decisions, self._groups, touched)
            self._actuator.apply(self._decisions, targets, procs)

    def process_forked(self, child_pid: int) -> None:
        """Read at the next tick: it inherited its parent's levers, and needs its own once it execs."""
        self._table.defer_pid(child_pid)

    def adopt_forks(self, forks: Sequence[tuple[int, int, int]]) -> None:
        """(parent, child, tid): what a demoted parent's children inherited is journaled, to give back."""
        if self._actuator.adopt_forks(forks):
            self._status = None  # they count among the managed processes

    def process_exited(self, pid: int) -> None:
        if self._snapshot is not None:
            self._snapshot.processes.pop(pid, None)
        self._table.forget(pid)
        self._regroup = True
        self._status = None

    def lost_events(self) -> None:
        """The event source overflowed: the next tick reads every process."""
        self._table.request_sweep()
