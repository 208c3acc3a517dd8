"""Threshold alerts with hysteresis: CPU, memory, swap, PSI, latency, the focused app's CPU wait, disks.

A level is raised (or escalated) once the value has stayed past its threshold for `raise_after`
seconds; it is lowered (de-escalated or resolved) once the value has stayed on the good side of the
threshold minus `clear_margin` percent of it for `clear_after` seconds. A value oscillating around a
threshold therefore neither raises nor clears anything. Samples are flat {name: value} mappings; a
per-instance figure such as a filesystem's use is keyed "disk_used_percent:/home" and gets its own
alert. An alert whose figure is no longer sampled for `clear_after` seconds is resolved.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from smoothdesk.config.errors import ConfigError
from smoothdesk.config.schema import ALERT_THRESHOLDS, Settings

LEVELS = ("resolved", "warning", "critical")


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """An alert raised, escalated, lowered or resolved; `since` is when it was first raised, `ts` now.

    An active alert is its latest event, with `value` kept current. Plain data for D-Bus and JSON.
    """

    id: str
    severity: str  # warning | critical | resolved
    metric: str
    value: float
    threshold: float
    message: str
    since: float
    ts: float

    def to_dict(self) -> dict[str, str | float]:
        return {f: getattr(self, f) for f in self.__slots__}


Alert = AlertEvent

# key -> (sample name, label, unit, alerts when below)
CATALOGUE: dict[str, tuple[str, str, str, bool]] = {
    "cpu_busy": ("cpu_busy_percent", "CPU busy", "%", False),
    "memory_available": ("memory_available_percent", "Memory available", "%", True),
    "swap_used": ("swap_used_percent", "Swap used", "%", False),
    "psi_cpu": ("psi_cpu_some_avg10", "CPU pressure", "%", False),
    "psi_memory": ("psi_memory_some_avg10", "Memory pressure", "%", False),
    "psi_io": ("psi_io_full_avg10", "IO pressure", "%", False),
    "latency_p99": ("latency_p99_ms", "Scheduling latency p99", " ms", False),
    "focus_wait": ("focus_cpu_wait_ms", "CPU wait of the focused app", " ms/s", False),
    "disk_used": ("disk_used_percent", "Disk used", "%", False),
}


@dataclass(frozen=True, slots=True)
class Threshold:
    metric: str
    label: str
    unit: str
    below: bool
    levels: tuple[float, float]  # warning, critical

    def past(self, value: float, level: int, margin: float = 0.0) -> bool:
        """Is value past this level's threshold, moved by `margin` (a fraction) towards good?"""
        limit = self.levels[level - 1]
        return value < limit * (1 + margin) if self.below else value > limit * (1 - margin)


@dataclass(frozen=True, slots=True)
class AlertSettings:
    """The [alerts] settings (defaults in the config schema only)."""

    thresholds: tuple[Threshold, ...]
    raise_after: float
    clear_after: float
    clear_margin: float  # percent of the threshold

    @classmethod
    def from_settings(cls, settings: Settings) -> AlertSettings:
        a = settings.values["alerts"]
        out = []
        for key, *_ in ALERT_THRESHOLDS:
            metric, label, unit, below = CATALOGUE[key]
            warning, critical = float(a[f"{key}_warning"]), float(a[f"{key}_critical"])
            if (critical > warning) if below else (critical < warning):
                where = settings.origins.get(f"alerts.{key}_critical", "config")
                side = "above" if below else "below"
                problem = f"alerts.{key}_critical {critical:g} is {side} the warning {warning:g}"
                raise ConfigError(where, problem)
            out.append(Threshold(metric, label, unit, below, (warning, critical)))
        return cls(tuple(out), float(a["raise_after"]), float(a["clear_after"]), float(a["clear_margin"]))


@dataclass(slots=True)
class _State:
    level: int = 0
    since: float = 0.0
    seen: float = 0.0
    value: float = 0.0
    past_since: list[float | None] = field(default_factory=lambda: [None, None, None])
    clear_since: list[float | None] = field(default_factory=lambda: [None, None, None])


def _keep(since: float | None, ts: float, holds: bool) -> float | None:
    """When a condition that holds now started: kept while it holds, None once it does not."""
    if not holds:
        return None
    return ts if since is None else since


class AlertEngine:
    """Feed one sample per tick to update(); it returns the transitions, active() what stands."""

    def __init__(self, settings: AlertSettings) -> None:
        self.settings = settings
        self._states: dict[str, tuple[Threshold, _State]] = {}
        self._active: dict[str, AlertEvent] = {}

    def update(self, ts: float, sample: Mapping[str, float]) -> list[AlertEvent]:
        events: list[AlertEvent] = []
        for name, value in sample.items():
            th = self._threshold(name)
            if th is None or value is None or math.isnan(value):
                continue
            th, state = self._states.setdefault(name, (th, _State()))
            state.seen, state.value = ts, float(value)
            events += self._step(ts, name, th, state)
        for name, (th, state) in list(self._states.items()):
            if name not in sample and state.level and ts - state.seen >= self.settings.clear_after:
                events.append(self._event(name, th, state, 0, ts, why="no longer measured"))
                del self._states[name]
        return events

    def active(self) -> list[AlertEvent]:
        return sorted(self._active.values(), key=lambda a: (-LEVELS.index(a.severity), a.id))

    def _threshold(self, name: str) -> Threshold | None:
        base = name.split(":", 1)[0]
        return next((t for t in self.settings.thresholds if t.metric == base), None)

    def _step(self, ts: float, name: str, th: Threshold, st: _State) -> list[AlertEvent]:
        s, margin = self.settings, self.settings.clear_margin / 100.0
        for level in (1, 2):
            st.past_since[level] = _keep(st.past_since[level], ts, th.past(st.value, level))
            st.clear_since[level] = _keep(st.clear_since[level], ts, not th.past(st.value, level, margin))

        def held(since: float | None, span: float) -> bool:
            return since is not None and ts - since >= span

        new = st.level
        while new > 0 and held(st.clear_since[new], s.clear_after):
            new -= 1
        raised = max((lv for lv in (1, 2) if held(st.past_since[lv], s.raise_after)), default=0)
        new = max(new, raised)
        if new == st.level:
            if st.level:
                self._active[name] = replace(self._active[name], value=st.value)
            return []
        return [self._event(name, th, st, new, ts)]

    def _event(
        self, name: str, th: Threshold, st: _State, new: int, ts: float, *, why: str = ""
    ) -> AlertEvent:
        shown = name.split(":", 1)[1] if ":" in name else ""
        label = f"{th.label} {shown}" if shown else th.label
        value = f"{st.value:.3g}{th.unit}"
        if st.level == 0:  # raised: the problem started when the value first went past the line
            st.since = min((t for t in st.past_since if t is not None), default=ts)
        if new:
            limit = th.levels[new - 1]
            side = "below" if th.below else "above"
            message = f"{label} {value} ({LEVELS[new]} {side} {limit:g}{th.unit})"
        else:
            limit = th.levels[st.level - 1]
            message = f"{label} {why or 'back to ' + value} (resolved)"
        event = AlertEvent(name, LEVELS[new], name, st.value, limit, message, float(st.since), float(ts))
        st.level = new
        if new:
            self._active[name] = event
        else:
            self._active.pop(name, None)
        return event
