"""The policy engine's tunables: each one's default, range and description, defined once.

Here, not in policy/, because the config schema generates the [engine] options from these fields
and config/ may not reach policy/ (telemetry reads the schema and must never import policy).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

from smoothdesk.core.errors import SmoothDeskError


class EngineConfigError(SmoothDeskError, ValueError):
    """An engine setting out of its range or at odds with another; `key` names the one to fix."""

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        super().__init__(f"engine.{key} {message}")


def _opt(default: float, doc: str, minimum: float = 0.0, maximum: float = 3600.0) -> Any:
    return field(default=default, metadata={"doc": doc, "minimum": minimum, "maximum": maximum})


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Engine tunables; CPU figures are percent of one core, times are seconds."""

    noisy_cpu_percent: float = _opt(
        70.0,
        "An unfocused group using this much of one core over 10 s, while others wait, "
        "is demoted to background.",
        5.0,
        10000.0,
    )
    fast_cpu_percent: float = _opt(
        90.0,
        "An unfocused group using this much of one core over the last tick alone, while others "
        "wait, is demoted after fast_demote_after instead of demote_after.",
        5.0,
        10000.0,
    )
    release_cpu_percent: float = _opt(
        30.0,
        "A demoted noisy group counts as quiet below this much of one core (must be below "
        "noisy_cpu_percent).",
        0.0,
        10000.0,
    )
    wait_psi_percent: float = _opt(
        5.0, "Others count as waiting when CPU pressure (PSI some avg10, percent) reaches this.", 0.0, 100.0
    )
    wait_busy_percent: float = _opt(
        90.0, "Others also count as waiting when the whole machine is this busy (percent).", 0.0, 100.0
    )
    demote_after: float = _opt(
        2.0, "Seconds the noisy-neighbour condition must hold before demoting.", 0.0, 600.0
    )
    fast_demote_after: float = _opt(
        0.5, "Seconds the condition must hold when the last tick alone passed fast_cpu_percent.", 0.0, 600.0
    )
    release_after: float = _opt(10.0, "Seconds a demoted noisy group must stay quiet before it is released.")
    min_dwell: float = _opt(5.0, "Least seconds between two noisy-neighbour changes of one group.")
    focus_grace: float = _opt(5.0, "Seconds a group stays interactive after it loses the focus.")
    audio_grace: float = _opt(5.0, "Seconds a group stays an audio client after it goes quiet.")
    ranker_keep_score: float = _opt(0.8, "An attention score this high withholds noisy demotion.", 0.0, 1.0)
    ranker_eager_score: float = _opt(
        0.1,
        "An attention score this low lowers the noisy threshold by ranker_eager_factor (must be "
        "below ranker_keep_score).",
        0.0,
        1.0,
    )
    ranker_eager_factor: float = _opt(
        0.5, "What noisy_cpu_percent is multiplied by for a group scored that low (above 0).", 0.0, 1.0
    )

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            low, high = f.metadata["minimum"], f.metadata["maximum"]
            if not math.isfinite(value) or not low <= value <= high:
                raise EngineConfigError(f.name, f"must be a number from {low:g} to {high:g}, not {value!r}")
        if self.release_cpu_percent >= self.noisy_cpu_percent:
            raise EngineConfigError("release_cpu_percent", "must be below engine.noisy_cpu_percent")
        if self.ranker_eager_score >= self.ranker_keep_score:
            raise EngineConfigError("ranker_eager_score", "must be below engine.ranker_keep_score")
        if self.ranker_eager_factor <= 0:
            raise EngineConfigError("ranker_eager_factor", "must be above 0")
