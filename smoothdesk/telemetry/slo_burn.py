"""Multi-window, multi-burn-rate alerts over each SLO's judged windows.

Burn rate over the last n windows = (bad / n) / (1 - objective): 1 spends the budget exactly in
the period P. Windows without data count as good here, so that a few windows after a start cannot
page alone.

The table is the SRE workbook's for a 30-day budget (page at 14.4x over 1 h and 5 min, i.e. 2 % of
the budget; 6x over 6 h and 30 min, 5 %), scaled to P: the long and short windows are P/720 and
P/8640 for the fast burn (critical), P/120 and P/1440 for the slow burn (warning), each rounded up
to whole SLO windows (at least one). Both must burn at the rate for the alert to fire; the short one
makes it clear soon after the burning stops. With 1-minute windows the long windows should span
several windows, or one bad window alone fires: P = 7 days gives 14/2 min and 84/7 min, and needs
3 bad minutes in 14 for critical, 6 in 84 for a warning.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from smoothdesk.telemetry.alerts import AlertEvent
from smoothdesk.telemetry.slo_window import Track

# (severity, burn rate, long and short window as fractions of the budget period)
BURN_ALERTS: tuple[tuple[str, float, float, float], ...] = (
    ("critical", 14.4, 1 / 720, 1 / 8640),
    ("warning", 6.0, 1 / 120, 1 / 1440),
)


def span(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def alert_key(track: Track) -> str:
    return f"slo:{track.slo.name}"


def firing(
    tracks: Sequence[tuple[Track, int]], now: float, before: Mapping[str, AlertEvent]
) -> dict[str, AlertEvent]:
    """The alerts firing at `now` for (track, current window index) pairs; `since` carried from `before`."""
    out: dict[str, AlertEvent] = {}
    for t, index in tracks:
        s = t.slo
        for severity, rate, long_f, short_f in BURN_ALERTS:
            n_long, n_short = s.windows(long_f), s.windows(short_f)
            burn_long, burn_short = t.burn(index, n_long), t.burn(index, n_short)
            if burn_long >= rate and burn_short >= rate:
                key = alert_key(t)
                spans = f"{span(n_long * s.window_s)} and {span(n_short * s.window_s)}"
                rule = f"{severity} at {rate:g}x over {spans}"
                message = f"SLO {s.name}: error budget burning {burn_long:.3g}x ({rule})"
                since = before[key].since if key in before else float(now)
                out[key] = AlertEvent(key, severity, s.metric, burn_long, rate, message, since, float(now))
                break
    return out


def transitions(
    tracks: Sequence[tuple[Track, int]],
    now: float,
    old: Mapping[str, AlertEvent],
    new: Mapping[str, AlertEvent],
) -> list[AlertEvent]:
    """Alerts raised or changed in severity from `old` to `new`, then those resolved."""
    events = [a for key, a in new.items() if key not in old or old[key].severity != a.severity]
    for t, index in tracks:
        key = alert_key(t)
        if key in old and key not in new:
            burn = t.burn(index, t.slo.windows(BURN_ALERTS[1][2]))
            message = f"SLO {t.slo.name}: error budget burn back to {burn:.3g}x (resolved)"
            was = old[key]
            events.append(
                AlertEvent(key, "resolved", was.metric, burn, was.threshold, message, was.since, float(now))
            )
    return events
