"""SLO tracker: good and bad windows, error budgets over a rolling period, multi-window burn-rate alerts.

Pure code with an injected clock: observe(ts, sample) with the tick's figures, status(now),
alerts(now) for what is firing, update(now) for the transitions (to publish). Time is split into
windows aligned to multiples of the SLO's window length. A window is good when the aggregate of the
samples that fell in it passes `op threshold` (worst: the largest value for < and <=, the smallest
for > and >=, the farthest from the threshold for ==; or mean). A window without samples (helper
not running, figure not measured) counts neither way. A window is judged once it has ended.

Error budget over the rolling budget period P: allowed = (1 - objective) * P / window bad windows;
remaining = 1 - bad / allowed (below 0 once overspent), so a fresh tracker starts with all of it.
Burn rate over the last n windows = (bad / n) / (1 - objective): 1 spends the budget exactly in P.
Windows without data count as good here, so that a few windows after a start cannot page alone.

Alerts follow the SRE workbook's multi-window, multi-burn-rate table for a 30-day budget (page at
14.4x over 1 h and 5 min, i.e. 2 % of the budget; 6x over 6 h and 30 min, 5 %), scaled to P: the
long and short windows are P/720 and P/8640 for the fast burn (critical), P/120 and P/1440 for the
slow burn (warning), each rounded up to whole SLO windows (at least one). Both must burn at the rate
for the alert to fire; the short one makes it clear soon after the burning stops. With 1-minute
windows the long windows should span several windows, or one bad window alone fires: P = 7 days
gives 14/2 min and 84/7 min, and needs 3 bad minutes in 14 for critical, 6 in 84 for a warning.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from smoothdesk.config.errors import ConfigError
from smoothdesk.config.schema import Settings, parse_duration
from smoothdesk.telemetry.alerts import AlertEvent

# (severity, burn rate, long and short window as fractions of the budget period)
BURN_ALERTS: tuple[tuple[str, float, float, float], ...] = (
    ("critical", 14.4, 1 / 720, 1 / 8640),
    ("warning", 6.0, 1 / 120, 1 / 1440),
)
_OPS = {
    "<": lambda v, t: v < t,
    "<=": lambda v, t: v <= t,
    ">": lambda v, t: v > t,
    ">=": lambda v, t: v >= t,
    "==": lambda v, t: v == t,
}


@dataclass(frozen=True, slots=True)
class Slo:
    name: str
    metric: str
    op: str
    threshold: float
    objective: float
    window_s: float
    budget_period_s: float
    aggregate: str = "worst"
    source: str = ""

    @classmethod
    def from_entry(cls, entry: Mapping[str, Any]) -> Slo:
        """One [[slo]] table as the config loader validated it."""
        source, name = str(entry.get("source", "config")), entry.get("name", "?")
        try:
            window, period = parse_duration(entry["window"]), parse_duration(entry["budget_period"])
            if entry["op"] not in _OPS or not 0 < float(entry["objective"]) < 1:
                raise ValueError(f"op {entry['op']!r} or objective {entry['objective']!r} out of range")
            return cls(
                str(name), str(entry["metric"]), str(entry["op"]), float(entry["threshold"]),
                float(entry["objective"]), window, period, str(entry.get("aggregate", "worst")), source,
            )  # fmt: skip
        except (KeyError, ValueError, TypeError) as exc:
            raise ConfigError(source, f"slo {name!r}: {exc}") from None

    def windows(self, fraction: float) -> int:
        return max(1, math.ceil(self.budget_period_s * fraction / self.window_s - 1e-9))

    def judge(self, values: Sequence[float]) -> tuple[float, bool]:
        """The window's aggregate value and whether it was good."""
        if self.aggregate == "mean":
            value = sum(values) / len(values)
        elif self.op == "==":
            value = max(values, key=lambda v: abs(v - self.threshold))
        else:
            value = max(values) if self.op.startswith("<") else min(values)
        return value, bool(_OPS[self.op](value, self.threshold))


def slos_from_settings(settings: Settings) -> list[Slo]:
    return [Slo.from_entry(e) for e in settings.get("slo", "objectives")]


@dataclass(frozen=True, slots=True)
class SloStatus:
    name: str
    metric: str
    objective: float
    window_s: float
    budget_period_s: float
    total_windows: int
    bad_windows: int
    budget_remaining: float
    burn_fast: float  # over the fast pair's long window
    burn_slow: float
    last_value: float  # the last judged window's aggregate; NaN before the first
    last_good: bool

    def to_dict(self) -> dict[str, str | float | int]:
        return asdict(self)


class _Track:
    def __init__(self, slo: Slo) -> None:
        self.slo = slo
        self.judged: deque[tuple[int, bool]] = deque()  # (window index, bad), oldest first
        self.open_index = -1
        self.open: list[float] = []
        self.last: tuple[float, bool] = (math.nan, True)

    def close_before(self, index: int) -> None:
        if self.open and self.open_index < index:
            value, good = self.slo.judge(self.open)
            self.judged.append((self.open_index, not good))
            self.last, self.open = (value, good), []
        keep = round(self.slo.budget_period_s / self.slo.window_s)
        while self.judged and self.judged[0][0] < index - keep:
            self.judged.popleft()

    def counts(self, index: int, n: int) -> tuple[int, int]:
        """(windows with data, bad ones) among the n complete windows before `index`."""
        recent = [bad for i, bad in self.judged if index - n <= i < index]
        return len(recent), sum(recent)

    def burn(self, index: int, n: int) -> float:
        return self.counts(index, n)[1] / n / (1 - self.slo.objective)


def _span(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


class SloTracker:
    """observe() every tick; update(now) once per tick for alert transitions; status/alerts to read."""

    def __init__(self, slos: Sequence[Slo]) -> None:
        self._tracks = [_Track(s) for s in slos]
        self._firing: dict[str, AlertEvent] = {}

    def observe(self, ts: float, sample: Mapping[str, float]) -> None:
        for t in self._tracks:
            value = sample.get(t.slo.metric)
            if value is None or math.isnan(value):
                continue
            index = math.floor(ts / t.slo.window_s)
            if index < t.open_index:
                continue  # the clock went back: that window is judged already
            t.close_before(index)
            t.open_index = index
            t.open.append(float(value))

    def status(self, now: float) -> list[SloStatus]:
        out = []
        for t in self._tracks:
            s, index = t.slo, self._close(t, now)
            period = round(s.budget_period_s / s.window_s)
            total, bad = t.counts(index, period)
            burn_fast = t.burn(index, s.windows(BURN_ALERTS[0][2]))
            burn_slow = t.burn(index, s.windows(BURN_ALERTS[1][2]))
            remaining = 1 - bad / ((1 - s.objective) * period)
            value, good = t.last
            out.append(SloStatus(s.name, s.metric, s.objective, s.window_s, s.budget_period_s, total, bad,
                                 remaining, burn_fast, burn_slow, value, good))  # fmt: skip
        return out

    def alerts(self, now: float) -> list[AlertEvent]:
        """The burn-rate alerts firing at `now` (critical first); changes nothing."""
        return sorted(self._evaluate(now).values(), key=lambda a: (a.severity != "critical", a.id))

    def update(self, now: float) -> list[AlertEvent]:
        """Alerts raised, changed in severity or resolved since the last update."""
        firing = self._evaluate(now)
        old = self._firing
        events = [a for key, a in firing.items() if key not in old or old[key].severity != a.severity]
        for t in self._tracks:
            key = f"slo:{t.slo.name}"
            if key in old and key not in firing:
                burn = t.burn(self._close(t, now), t.slo.windows(BURN_ALERTS[1][2]))
                message = f"SLO {t.slo.name}: error budget burn back to {burn:.3g}x (resolved)"
                was = old[key]
                events.append(
                    AlertEvent(
                        key, "resolved", was.metric, burn, was.threshold, message, was.since, float(now)
                    )
                )
        self._firing = firing
        return events

    def _close(self, t: _Track, now: float) -> int:
        index = math.floor(now / t.slo.window_s)
        t.close_before(index)
        return index

    def _evaluate(self, now: float) -> dict[str, AlertEvent]:
        out: dict[str, AlertEvent] = {}
        for t in self._tracks:
            s, index = t.slo, self._close(t, now)
            for severity, rate, long_f, short_f in BURN_ALERTS:
                n_long, n_short = s.windows(long_f), s.windows(short_f)
                burn_long, burn_short = t.burn(index, n_long), t.burn(index, n_short)
                if burn_long >= rate and burn_short >= rate:
                    key = f"slo:{s.name}"
                    spans = f"{_span(n_long * s.window_s)} and {_span(n_short * s.window_s)}"
                    message = (
                        f"SLO {s.name}: error budget burning {burn_long:.3g}x "
                        f"({severity} at {rate:g}x over {spans})"
                    )
                    since = self._firing[key].since if key in self._firing else float(now)
                    out[key] = AlertEvent(
                        key, severity, s.metric, burn_long, rate, message, since, float(now)
                    )
                    break
        return out
