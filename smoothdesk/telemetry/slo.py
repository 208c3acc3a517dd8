"""SLO tracker: good and bad windows, error budgets over a rolling period, burn-rate alerts.

Pure code with an injected clock: observe(ts, sample) with the tick's figures, status(now),
alerts(now) for what is firing, update(now) for the transitions (to publish). Time is split into
windows aligned to multiples of the SLO's window length. A window is good when the aggregate of the
samples that fell in it passes `op threshold` (worst: the largest value for < and <=, the smallest
for > and >=, the farthest from the threshold for ==; or mean). A window is judged once it has ended.

Error budget over the rolling budget period P: allowed = (1 - objective) * P / window bad windows;
remaining = 1 - bad / allowed (below 0 once overspent), so a fresh tracker starts with all of it.
Gaps: a window without samples (helper not running, figure not measured) counts neither way. It
is not among the judged windows (total_windows, so the share of good windows is over measured
time only) and spends nothing; the allowance stays a fixed share of P, so a week with a day off
has the same number of bad windows to spend as a full one. `since` is where the counted data
starts: after a restart the budget is rebuilt from the snapshot log (slo_replay.py), so it is the
oldest logged window still in P, not the start of this run.

The burn-rate alerts are in slo_burn.py, the window bookkeeping in slo_window.py.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

from smoothdesk.telemetry.alerts import AlertEvent
from smoothdesk.telemetry.slo_burn import BURN_ALERTS, firing, transitions
from smoothdesk.telemetry.slo_window import Slo, Track, slos_from_settings

__all__ = ["BURN_ALERTS", "Slo", "SloStatus", "SloTracker", "slos_from_settings"]


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
    since: float = math.nan  # start of the oldest window with data in the period; NaN before any

    def to_dict(self) -> dict[str, str | float | int]:
        return asdict(self)


class SloTracker:
    """observe() every tick; update(now) once per tick for alert transitions; status/alerts to read."""

    def __init__(self, slos: Sequence[Slo]) -> None:
        self.slos = list(slos)
        self._tracks = [Track(s) for s in self.slos]
        self._firing: dict[str, AlertEvent] = {}

    def observe(self, ts: float, sample: Mapping[str, float]) -> None:
        for t in self._tracks:
            value = sample.get(t.slo.metric)
            if value is None or math.isnan(value):
                continue
            t.add(ts, float(value))

    def status(self, now: float) -> list[SloStatus]:
        out = []
        for t, index in self._close(now):
            s = t.slo
            period = s.period_windows
            total, bad = t.counts(index, period)
            burn_fast = t.burn(index, s.windows(BURN_ALERTS[0][2]))
            burn_slow = t.burn(index, s.windows(BURN_ALERTS[1][2]))
            remaining = 1 - bad / ((1 - s.objective) * period)
            value, good = t.last
            out.append(SloStatus(s.name, s.metric, s.objective, s.window_s, s.budget_period_s, total, bad,
                                 remaining, burn_fast, burn_slow, value, good, t.oldest()))  # fmt: skip
        return out

    def alerts(self, now: float) -> list[AlertEvent]:
        """The burn-rate alerts firing at `now` (critical first); changes nothing."""
        firing_now = firing(self._close(now), now, self._firing)
        return sorted(firing_now.values(), key=lambda a: (a.severity != "critical", a.id))

    def update(self, now: float) -> list[AlertEvent]:
        """Alerts raised, changed in severity or resolved since the last update."""
        tracks = self._close(now)
        firing_now = firing(tracks, now, self._firing)
        events = transitions(tracks, now, self._firing, firing_now)
        self._firing = firing_now
        return events

    def inherit_alerts(self, other: SloTracker) -> None:
        """Take `other`'s firing alerts, so that the next update() reports changes from what it sent."""
        self._firing = dict(other._firing)

    def _close(self, now: float) -> list[tuple[Track, int]]:
        """Each track with the index of the window `now` falls in, windows before it judged."""
        out = []
        for t in self._tracks:
            index = math.floor(now / t.slo.window_s)
            t.close_before(index)
            out.append((t, index))
        return out
