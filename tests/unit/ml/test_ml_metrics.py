"""Tests for ml.training.metrics: AUC and NDCG@k on hand-computed cases, and the rule-only baseline order."""

from __future__ import annotations

import math

import pytest
from ml_support import obs

from smoothdesk.ml.training.metrics import auc, baseline_score, ndcg_at_k


def test_auc_known_values():
    assert auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert auc([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1]) == 0.0
    assert auc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]) == 0.5
    # pairs (pos, neg): (0.8 > 0.1), (0.8 > 0.4), (0.3 > 0.1), (0.3 < 0.4) -> 3 of 4
    assert auc([0, 0, 1, 1], [0.1, 0.4, 0.8, 0.3]) == 0.75
    assert math.isnan(auc([1, 1], [0.2, 0.3]))


def test_ndcg_per_tick_with_fair_ties():
    ticks = [1, 1, 1, 2, 2, 2, 3, 3]
    labels = [1, 0, 0, 0, 1, 0, 0, 0]
    perfect = [0.9, 0.1, 0.2, 0.1, 0.9, 0.2, 0.5, 0.5]
    assert ndcg_at_k(ticks, labels, perfect, k=5) == 1.0  # tick 3 has no positive: skipped
    # tick 1 wrong way round: the positive ranks third -> 1/log2(4) = 0.5; tick 2 perfect
    worst = [0.1, 0.9, 0.5, 0.1, 0.9, 0.2, 0.0, 0.0]
    assert ndcg_at_k(ticks, labels, worst, k=5) == pytest.approx((0.5 + 1.0) / 2)
    # all tied in a tick of 3: the positive gets the mean discount of positions 1..3
    tied = [0.5, 0.5, 0.5, 0.1, 0.9, 0.2, 0.0, 0.0]
    mean_disc = (1 + 1 / math.log2(3) + 0.5) / 3
    assert ndcg_at_k(ticks, labels, tied, k=5) == pytest.approx((mean_disc + 1.0) / 2)
    # k cuts the list: rank 3 is outside the top 2
    assert ndcg_at_k(ticks, labels, worst, k=2) == pytest.approx((0.0 + 1.0) / 2)


def test_baseline_follows_the_engine_precedence():
    order = [
        obs(focused=True, rule_type="indexer"),
        obs(seconds_since_focus=3.0),  # within the focus grace
        obs(audio=True),
        obs(rule_type="audio"),
        obs(rule_type="Editor"),
        obs(rule_type=""),
        obs(rule_type="build"),
        obs(rule_type="indexer", seconds_since_focus=30.0),
    ]
    scores = [baseline_score(o) for o in order]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] == scores[1] == 1.0  # the engine treats the grace period as still focused
    assert len(set(scores[1:])) == len(scores) - 1
