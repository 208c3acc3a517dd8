"""SLO definitions from [[slo]] tables, the judging of one window, and one SLO's judged windows."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from smoothdesk.config.errors import ConfigError
from smoothdesk.config.schema import Settings, parse_duration

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

    @property
    def period_windows(self) -> int:
        return round(self.budget_period_s / self.window_s)

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


class Track:
    """One SLO's windows: the open one's values, and the judged ones within the budget period."""

    def __init__(self, slo: Slo) -> None:
        self.slo = slo
        self.judged: deque[tuple[int, bool]] = deque()  # (window index, bad), oldest first
        self.open_index = -1
        self.open: list[float] = []
        self.last: tuple[float, bool] = (math.nan, True)

    def add(self, ts: float, value: float) -> None:
        index = math.floor(ts / self.slo.window_s)
        if index < self.open_index:
            return  # the clock went back: that window is judged already
        self.close_before(index)
        self.open_index = index
        self.open.append(value)

    def close_before(self, index: int) -> None:
        if self.open and self.open_index < index:
            value, good = self.slo.judge(self.open)
            self.judged.append((self.open_index, not good))
            self.last, self.open = (value, good), []
        keep = self.slo.period_windows
        while self.judged and self.judged[0][0] < index - keep:
            self.judged.popleft()

    def counts(self, index: int, n: int) -> tuple[int, int]:
        """(windows with data, bad ones) among the n complete windows before `index`.

        Walks from the newest window back: the burn-rate windows are a few dozen of the
        thousands a 7-day budget keeps, and they are counted every tick.
        """
        total = bad = 0
        for i, is_bad in reversed(self.judged):
            if i < index - n:
                break
            if i < index:
                total, bad = total + 1, bad + is_bad
        return total, bad

    def burn(self, index: int, n: int) -> float:
        return self.counts(index, n)[1] / n / (1 - self.slo.objective)

    def oldest(self) -> float:
        """Start time of the oldest window with data still in the budget period; NaN if none."""
        index = self.judged[0][0] if self.judged else (self.open_index if self.open else None)
        return math.nan if index is None else index * self.slo.window_s
