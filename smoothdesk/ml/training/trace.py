"""A seeded synthetic trace of one person's desktop days, written as a real snapshot log.

The person works roughly 08:30 to 18:00 with a lunch and two coffee breaks (screen locked, no
focus), moves between editor, terminal, browser and documents with habitual transitions and
dwell times, answers chat after a notification (a CPU blip in the chat client) more often than
not, starts builds from the terminal and comes back to it when they finish, checks mail now and
then, and sometimes plays music (an audio client) and skips a track. An indexer, a daily backup
and an updater run in the background. The machine is off at night.

Each tick goes through the helper's own code: `observe()` builds the rows and focus events, and
the real policy engine decides the classes. Same arguments, same rows and events, bit for bit.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from smoothdesk.core import Classification, Decision, Hints, ProcessRecord, PsiFigures, Snapshot, SystemStats
from smoothdesk.core.observation import GroupObservation
from smoothdesk.ml.observe import FocusEvent, FocusTracker, observe, with_classes
from smoothdesk.ml.training.trace_apps import APPS, BUILD, Running, classification, processes, start
from smoothdesk.policy.engine import PolicyInputs, PolicyState, decide

DEFAULT_START = 1_704_700_800.0  # Monday 2024-01-08 08:00 UTC
DAY = 86400.0

# Habits: where focus goes next from each application, and how long it stays (median seconds).
NEXT: dict[str, tuple[tuple[str, float], ...]] = {
    "editor": (("terminal", 0.45), ("browser", 0.3), ("docs", 0.1), ("chat", 0.05), ("files", 0.1)),
    "terminal": (("editor", 0.6), ("browser", 0.3), ("files", 0.1)),
    "browser": (("editor", 0.55), ("terminal", 0.2), ("docs", 0.1), ("mail", 0.1), ("chat", 0.05)),
    "docs": (("editor", 0.6), ("browser", 0.4)),
    "files": (("editor", 0.5), ("docs", 0.3), ("terminal", 0.2)),
}
DWELL = {
    "editor": 200.0,
    "terminal": 45.0,
    "browser": 100.0,
    "docs": 180.0,
    "files": 25.0,
    "chat": 40.0,
    "mail": 120.0,
    "music": 10.0,
}


@dataclass(frozen=True, slots=True)
class Tick:
    """One tick of the trace, as the helper would hand it to the store."""

    ts: float
    sample: dict[str, float]
    processes: list[ProcessRecord]
    pid_groups: dict[int, str]
    rows: list[GroupObservation]
    events: list[FocusEvent]
    decisions: list[tuple[str, str, str]]


@dataclass(slots=True)
class _Person:
    focus: str | None = None
    back_to: str = "editor"
    dwell_left: float = 0.0
    pending: list[tuple[float, str]] = field(default_factory=list)  # (at, app) urges to switch
    music_until: float = 0.0


class _Day:
    def __init__(self, rng: random.Random, day_start: float, tick_s: float) -> None:
        self.rng, self.tick_s = rng, tick_s
        r = rng.uniform
        self.on = day_start + 1800 + r(-1200, 1200)
        self.off = day_start + 10 * 3600 + r(-1800, 2400)
        lunch = day_start + 4 * 3600 + r(-900, 1800)
        self.breaks = [(lunch, lunch + r(2400, 3900))]
        for centre in (2.3, 7.3):
            t = day_start + centre * 3600 + r(-1200, 1200)
            self.breaks.append((t, t + r(420, 1000)))
        self.backup_at = lunch + r(300, 900)
        self.person = _Person()
        self.tracker = FocusTracker()
        self.state = PolicyState()
        self.apps: dict[str, Running] = {}
        self.build: Running | None = None
        self.build_until = 0.0
        self.next_pid = 1000
        self.indexer_until = 0.0
        self.updater_until = 0.0
        self.last_decisions: dict[str, Decision] = {}
        self.blips: dict[str, float] = {}

    def boot(self) -> None:
        for i, spec in enumerate(APPS):
            self.apps[spec.key] = start(spec, self.next_pid, 20.0 + 7 * i, pgrp=self.next_pid)
            self.next_pid += spec.procs + 13

    def away(self, wall: float) -> bool:
        return any(a <= wall < b for a, b in self.breaks) or wall >= self.off - 60

    def _choose(self, options: tuple[tuple[str, float], ...]) -> str:
        return self.rng.choices([o for o, _ in options], [w for _, w in options])[0]

    def _switch(self, app: str, wall: float) -> None:
        p = self.person
        if p.focus in NEXT:
            p.back_to = p.focus
        p.focus = app
        p.dwell_left = self.rng.lognormvariate(0.0, 0.7) * DWELL.get(app, 60.0)
        if app == "terminal" and self.build is None and self.rng.random() < 0.3:
            self.build = start(BUILD, self.next_pid, wall - self.on + 60.0, pgrp=self.next_pid)
            self.next_pid += BUILD.procs + 5
            self.build_until = wall + self.rng.uniform(60, 420)

    def step_person(self, wall: float) -> tuple[str | None, bool]:
        """Advance the person one tick: returns the focused app (None when away) and input."""
        p, rng = self.person, self.rng
        if self.away(wall):
            if p.focus is not None:
                p.back_to = p.focus if p.focus in NEXT else p.back_to
            p.focus, p.pending = None, []
            return None, False
        if p.focus is None:
            self._switch(p.back_to, wall)
        if rng.random() < self.tick_s / 720.0:  # a chat message, about every 12 minutes
            self.blips["chat"] = 40.0
            if rng.random() < 0.6:
                p.pending.append((wall + rng.uniform(5, 50), "chat"))
        if self.build is not None and wall >= self.build_until:
            self.build = None
            if rng.random() < 0.8:
                p.pending.append((wall + rng.uniform(0, 40), "terminal"))
        if wall >= p.music_until and rng.random() < self.tick_s / 5400.0:
            p.music_until = wall + rng.uniform(1800, 7200)
        if wall < p.music_until and rng.random() < self.tick_s / 1500.0:
            p.pending.append((wall + rng.uniform(0, 20), "music"))
        if rng.random() < self.tick_s / 2700.0:
            p.pending.append((wall + rng.uniform(0, 30), "mail"))
        due = [a for t, a in p.pending if t <= wall]
        p.pending = [(t, a) for t, a in p.pending if t > wall]
        p.dwell_left -= self.tick_s
        if due and due[0] != p.focus:
            self._switch(due[0], wall)
        elif p.dwell_left <= 0:
            nxt = self._choose(NEXT[p.focus]) if p.focus in NEXT else p.back_to
            self._switch(nxt, wall)
        return p.focus, rng.random() < 0.85

    def load(self, run: Running, focused: str | None, wall: float) -> float:
        spec, rng = run.spec, self.rng
        key = spec.key
        if key == "indexer":
            if wall >= self.indexer_until and rng.random() < self.tick_s / 1800.0:
                self.indexer_until = wall + rng.uniform(30, 300)
            busy = wall < self.indexer_until
        elif key == "backup":
            busy = self.backup_at <= wall < self.backup_at + 1500
        elif key == "updater":
            if wall >= self.updater_until and rng.random() < self.tick_s / 7200.0:
                self.updater_until = wall + rng.uniform(60, 240)
            busy = wall < self.updater_until
        elif key in ("music", "pipewire"):
            busy = wall < self.person.music_until
        else:
            busy = key == focused or (key == "build")
        base = spec.active_cpu if busy else spec.idle_cpu
        return max(0.0, base * rng.uniform(0.6, 1.4)) + self.blips.pop(key, 0.0)


def _system(cpu: float, ncpu: int = 4) -> SystemStats:
    busy = min(100.0, cpu / ncpu)
    psi = max(0.0, busy - 40.0) * 0.5
    return SystemStats(
        ncpu=ncpu,
        cpu_busy=busy,
        mem_total=16 * 2**30,
        mem_available=9 * 2**30,
        psi={"cpu.some": PsiFigures(avg10=psi)},
    )


def generate(
    seed: int = 3, days: float = 3.0, start: float = DEFAULT_START, tick_s: float = 10.0
) -> Iterator[Tick]:
    """Yield the ticks of `days` simulated days (only while the machine is on)."""
    rng = random.Random(seed)
    whole = int(days) + (1 if days % 1 else 0)
    for d in range(whole):
        day_start = start + d * DAY
        day = _Day(rng, day_start, tick_s)
        day.boot()
        end = min(day.off, day_start + days * DAY - d * DAY) if d == whole - 1 else day.off
        wall = day.on
        while wall < end:
            yield _tick(day, wall)
            wall += tick_s


def _tick(day: _Day, wall: float) -> Tick:
    focused, typing = day.step_person(wall)
    runs = list(day.apps.values()) + ([day.build] if day.build is not None else [])
    procs: dict[int, ProcessRecord] = {}
    classes: dict[int, Classification] = {}
    total = 0.0
    for run in runs:
        cpu = day.load(run, focused, wall)
        total += cpu
        for p in processes(run, cpu, day.rng, run.group.leader):
            procs[p.pid] = p
        c = classification(run.spec)
        if c is not None:
            classes[run.group.leader] = c
    mono = wall - day.on + 60.0
    snapshot = Snapshot(mono, wall, _system(total), procs)
    fpids = frozenset({day.apps[focused].group.leader}) if focused is not None else frozenset()
    music = wall < day.person.music_until
    apids = frozenset({day.apps["music"].group.leader}) if music else frozenset()
    hints = Hints(fpids, apids)
    groups = [r.group for r in runs]
    rows, events = observe(
        snapshot, groups, classes, day.last_decisions, hints, tracker=day.tracker, input_active=typing
    )
    inputs = PolicyInputs(snapshot=snapshot, groups=groups, classifications=classes, now=mono, hints=hints)
    decided, day.state = decide(inputs, day.state)
    day.last_decisions = decided
    sample = {
        "time": wall,
        "cpu_busy": snapshot.system.cpu_busy,
        "psi_cpu_some": snapshot.system.psi_value("cpu"),
        "psi_io_some": 0.0,
        "psi_memory_some": 0.0,
        "mem_available": float(snapshot.system.mem_available),
        "demoted": float(sum(1 for d in decided.values() if d.klass.demoted)),
        "tick_cost_ms": 0.0,
    }
    decisions = [(g, d.klass.value, d.reason_text) for g, d in sorted(decided.items())]
    pid_groups = {pid: r.group.id for r in runs for pid in r.pids}
    rows = with_classes(rows, decided)
    return Tick(wall, sample, list(procs.values()), pid_groups, rows, events, decisions)


def write_trace(
    path: Path,
    *,
    seed: int = 3,
    days: float = 3.0,
    start: float = DEFAULT_START,
    tick_s: float = 10.0,
    progress: Callable[[str], None] | None = None,
) -> tuple[int, int]:
    """Write the trace into the snapshot log at `path` (created if absent); (ticks, rows) written."""
    from smoothdesk.telemetry.store import SnapshotStore

    # Retention must not prune a trace set in the past; the log's own defaults would.
    store = SnapshotStore.open(path, max_age_s=float("inf"), max_bytes=2**62)
    ticks = n_rows = 0
    try:
        for tick in generate(seed, days, start, tick_s):
            store.write_tick(tick.ts, tick.sample, tick.processes, tick.rows, tick.decisions, tick.pid_groups)
            for e in tick.events:
                store.write_focus(e.ts, e.group_id, e.pid, e.kind)
            ticks += 1
            n_rows += len(tick.rows)
            if progress is not None and ticks % 2000 == 0:
                progress(f"trace: {ticks} ticks, {n_rows} rows")
    finally:
        store.close()
    return ticks, n_rows
