"""The Ranker protocol: how likely each group is to get the person's attention soon."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

from smoothdesk.core.decision import Hints
from smoothdesk.core.group import AppGroup
from smoothdesk.core.snapshot import Snapshot

# What a ranker's silence means: no opinion either way.
NEUTRAL_SCORE = 0.5


@runtime_checkable
class Ranker(Protocol):
    """Scores groups; the policy engine gives the scores a bounded say (see policy.engine)."""

    def score(
        self,
        groups: Sequence[AppGroup],
        snapshot: Snapshot,
        hints: Hints,
        now: float,
    ) -> Mapping[str, float]:
        """Map group id to the probability in [0, 1] that the person uses it within a minute.

        Groups left out count as NEUTRAL_SCORE. Must not change its arguments.
        """
        ...
