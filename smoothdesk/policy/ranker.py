"""The rule-only ranker: no opinion about any group, so rules and heuristics decide alone."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from smoothdesk.core import AppGroup, Hints, Snapshot
from smoothdesk.core.ranker import NEUTRAL_SCORE


class RuleOnlyRanker:
    """A Ranker that scores nothing; it is the baseline the trained model is measured against."""

    neutral = NEUTRAL_SCORE

    def score(
        self,
        groups: Sequence[AppGroup],
        snapshot: Snapshot,
        hints: Hints,
        now: float,
    ) -> Mapping[str, float]:
        """Return no scores: every group counts as NEUTRAL_SCORE, which never changes a class."""
        return {}
