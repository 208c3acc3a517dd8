"""Timers that keep heuristic verdicts from flapping, and the focus grace period."""

from __future__ import annotations

from dataclasses import dataclass, replace

from smoothdesk.core import Reason

# Ticks arrive at float times; a hold of 1.9999999 s must count as 2 s.
_EPSILON = 1e-6


@dataclass(frozen=True, slots=True)
class Timing:
    """How long a heuristic condition must hold before it acts (seconds)."""

    demote_after: float = 2.0
    fast_demote_after: float = 0.5
    release_after: float = 10.0
    min_dwell: float = 5.0


@dataclass(frozen=True, slots=True)
class HeuristicTimer:
    """One group's heuristic verdict and the clocks behind it (monotonic seconds)."""

    demoted: bool = False
    hot_since: float | None = None
    cool_since: float | None = None
    changed_at: float | None = None

    @property
    def idle(self) -> bool:
        """Equal to HeuristicTimer(): nothing running. Asked of every group every tick, so it
        tests the fields rather than building the two tuples a dataclass __eq__ compares."""
        return (
            not self.demoted
            and self.hot_since is None
            and self.cool_since is None
            and self.changed_at is None
        )


def _since(started: float | None, holds: bool, now: float) -> float | None:
    if not holds:
        return None
    return now if started is None else started


def step(
    timer: HeuristicTimer, *, hot: bool, cool: bool, fast: bool, now: float, timing: Timing
) -> tuple[HeuristicTimer, Reason | None]:
    """Advance a timer by one observation; the Reason tells what the hysteresis did.

    Demotion needs `hot` held for demote_after (fast_demote_after when the last tick alone
    was over the fast threshold); release needs `cool` held for release_after; and two
    heuristic changes of one group are at least min_dwell apart.
    """
    dwell_left = 0.0
    if timer.changed_at is not None:
        dwell_left = max(0.0, timer.changed_at + timing.min_dwell - now)
    if not timer.demoted:
        hot_since = _since(timer.hot_since, hot, now)
        if hot_since is None:
            return HeuristicTimer(False, None, None, timer.changed_at), None
        need = timing.fast_demote_after if fast else timing.demote_after
        held = now - hot_since
        if held + _EPSILON >= need and dwell_left <= 0.0:
            return HeuristicTimer(True, None, None, now), Reason("hysteresis", f"held {held:.1f} s")
        wait = f"held {held:.1f} s of {need:.1f} s"
        if held + _EPSILON >= need:
            wait = f"changed {timing.min_dwell - dwell_left:.1f} s ago, min dwell {timing.min_dwell:.1f} s"
        return replace(timer, hot_since=hot_since, cool_since=None), Reason(
            "hysteresis", f"not demoted yet: {wait}"
        )
    cool_since = _since(timer.cool_since, cool, now)
    if cool_since is None:
        return HeuristicTimer(True, None, None, timer.changed_at), Reason(
            "hysteresis", "still busy: held until quiet"
        )
    held = now - cool_since
    if held + _EPSILON >= timing.release_after and dwell_left <= 0.0:
        return HeuristicTimer(False, None, None, now), Reason(
            "hysteresis", f"released after {held:.1f} s quiet"
        )
    return replace(timer, hot_since=None, cool_since=cool_since), Reason(
        "hysteresis", f"held: quiet for {held:.1f} s of {timing.release_after:.1f} s"
    )


def in_grace(last_seen: float | None, now: float, grace: float) -> float | None:
    """Seconds since a hint was last seen, if that is within the grace period, else None."""
    if last_seen is None:
        return None
    ago = now - last_seen
    return ago if 0.0 <= ago < grace else None
