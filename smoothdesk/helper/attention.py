"""What the person attends to: the focus tracker, and the attention ranker the engine consults.

A stage of the tick, before the engine decides: the ranker needs this tick's rows. Telemetry
reads what it tracked (the focused group, the focus events to log, the rows) and changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

from smoothdesk.core.decision import Decision, Hints
from smoothdesk.core.errors import SmoothDeskError
from smoothdesk.core.group import AppGroup, Classification
from smoothdesk.core.observation import GroupObservation
from smoothdesk.core.ranker import Ranker
from smoothdesk.core.snapshot import Snapshot
from smoothdesk.ml.observe import FocusEvent, FocusTracker, Tick, rows_for, track
from smoothdesk.ml.ranker import OnnxRanker, load_default
from smoothdesk.policy.ranker import RuleOnlyRanker

log = logging.getLogger("smoothdesk.helper")

# The agent re-sends idle time only when it moves by more than 5 s, so "recent" must allow for that.
INPUT_RECENT_S = 10.0


def load_ranker(setting: str) -> OnnxRanker | None:
    if setting == "off":
        return None
    # Lazy: onnxruntime loads when the engine first asks about a group near demotion.
    path = Path(setting)
    ranker = load_default(lazy=True) if setting == "default" else OnnxRanker(path, lazy=True)
    # Off the tick: the tick that first needs it must not wait 0.2-0.3 CPU-s for it.
    ranker.background = True
    log.info("attention ranker: %s (loads in the background at first use)", ranker.model_path)
    return ranker


class Attention:
    """The focus tracker and the model (ranker.model; None when off or unloadable)."""

    def __init__(self, ranker_model: str) -> None:
        self.tracker = FocusTracker()
        self.model: OnnxRanker | None = None
        self.problem: str | None = None  # why the model did not load
        try:
            self.model = load_ranker(ranker_model)
        except (SmoothDeskError, OSError, ValueError) as exc:
            self.problem = f"ranker: {exc}"
            log.warning("ranker disabled: %s", exc)
        self.ranker: Ranker = self.model if self.model is not None else RuleOnlyRanker()  # the engine's
        self.tick: Tick | None = None  # this tick's, once observe() ran

    @property
    def focused_id(self) -> str | None:
        """The group the tracker settled on this tick (the one the snapshot log records)."""
        return self.tick.focused_id if self.tick is not None else None

    def observe(
        self,
        snapshot: Snapshot,
        groups: Sequence[AppGroup],
        classifications: Mapping[int, Classification],
        decisions: Mapping[str, Decision],
        hints: Hints,
        *,
        input_idle: float | None = None,
    ) -> list[FocusEvent]:
        """Track this tick's focus and give the model its rows (with last tick's classes);
        returns the focus events for the log.

        `input_idle` (seconds since the person last touched keyboard or mouse, None when no agent
        says) marks input to the focused group, which the attention label counts as use.
        """
        active = input_idle is not None and input_idle < INPUT_RECENT_S
        tick, events = track(snapshot, groups, hints, tracker=self.tracker, input_active=active)
        self.tick = tick
        if self.model is not None:
            # Rows are built only for the groups the engine asks about, with last tick's classes
            # (features never read the class).
            self.model.observe_lazy(
                lambda asked: rows_for(
                    tick, snapshot, asked, classifications, decisions, tracker=self.tracker
                ),
                tick.now,
            )
        return events

    def rows(
        self,
        snapshot: Snapshot,
        groups: Sequence[AppGroup],
        classifications: Mapping[int, Classification],
        decisions: Mapping[str, Decision],
    ) -> list[GroupObservation]:
        """Every group's row for this tick, as the snapshot log stores them (none before observe())."""
        if self.tick is None:
            return []
        return rows_for(self.tick, snapshot, groups, classifications, decisions, tracker=self.tracker)
