"""Held-out metrics (AUC, per-tick NDCG@k) and the rule-only baseline score they are compared with.

Ties are scored fairly in both metrics: the baseline gives many groups the same score, and
breaking its ties by luck (or by group id) would make it look better or worse than it is.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from smoothdesk.core.engine_config import EngineConfig
from smoothdesk.core.observation import GroupObservation

# The class the built-in table gives each rule type (policy.rule_types), as an attention prior.
_TYPE_SCORE = {
    "audio": 0.6,
    "compositor": 0.6,
    "player-audio": 0.6,
    "player-video": 0.6,
    "browser": 0.5,
    "terminal": 0.5,
    "editor": 0.5,
    "game": 0.5,
    "chat": 0.5,
    "doc-view": 0.5,
    "image-view": 0.5,
    "compiler": 0.2,
    "build": 0.2,
    "compressor": 0.2,
    "package-manager": 0.2,
    "indexer": 0.1,
    "backup": 0.1,
    "updater": 0.1,
}
NORMAL_SCORE = 0.4
# The engine's default graces: the baseline scores with the engine's own precedence.
FOCUS_GRACE_S = EngineConfig().focus_grace
AUDIO_GRACE_S = EngineConfig().audio_grace


def baseline_score(o: GroupObservation) -> float:
    """What SmoothDesk knows without ML, as a score: the engine's own precedence.

    Focused now or within the focus grace (1.0) > audio client within the audio grace (0.8) >
    critical or interactive by rule type (0.6) > interactive-capable types: browser, terminal,
    editor, chat... (0.5) > normal or no rule (0.4) > background types (0.2) > idle types (0.1).
    """
    if o.focused or 0.0 <= o.seconds_since_focus <= FOCUS_GRACE_S:
        return 1.0
    if o.audio or 0.0 <= o.seconds_since_audio <= AUDIO_GRACE_S:
        return 0.8
    return _TYPE_SCORE.get(o.rule_type.strip().lower(), NORMAL_SCORE)


def baseline_scores(rows: Sequence[GroupObservation]) -> npt.NDArray[np.float64]:
    return np.array([baseline_score(o) for o in rows], dtype=np.float64)


def _rankdata(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """1-based ranks with ties given their average rank."""
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    starts = np.flatnonzero(np.r_[True, xs[1:] != xs[:-1]])
    ends = np.r_[starts[1:], len(xs)]
    avg = (starts + ends + 1) / 2.0
    ranks = np.empty(len(x), dtype=np.float64)
    ranks[order] = np.repeat(avg, ends - starts)
    return ranks


def auc(labels: npt.ArrayLike, scores: npt.ArrayLike) -> float:
    """Area under the ROC curve (Mann-Whitney, ties count half); nan without both labels."""
    y = np.asarray(labels, dtype=np.float64)
    s = np.asarray(scores, dtype=np.float64)
    pos = float(y.sum())
    neg = float(len(y) - pos)
    if pos == 0 or neg == 0:
        return math.nan
    r = _rankdata(s)
    return float((r[y == 1].sum() - pos * (pos + 1) / 2) / (pos * neg))


def _dcg_tied(gains: npt.NDArray[np.float64], scores: npt.NDArray[np.float64], k: int) -> float:
    """DCG@k where tied items share the mean discount of the positions they span (McSherry-Najork)."""
    order = np.argsort(-scores, kind="mergesort")
    s, g = scores[order], gains[order]
    disc = np.zeros(len(s))
    top = min(k, len(s))
    disc[:top] = 1.0 / np.log2(np.arange(2, top + 2))
    total, i = 0.0, 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        total += float(g[i : j + 1].mean() * disc[i : j + 1].sum())
        i = j + 1
    return total


def ndcg_at_k(ticks: npt.ArrayLike, labels: npt.ArrayLike, scores: npt.ArrayLike, k: int = 5) -> float:
    """Mean NDCG@k over ticks (rows sharing a tick are one query); ticks without a positive skip."""
    t = np.asarray(ticks, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    s = np.asarray(scores, dtype=np.float64)
    order = np.argsort(t, kind="mergesort")
    t, y, s = t[order], y[order], s[order]
    bounds = np.flatnonzero(np.r_[True, t[1:] != t[:-1], True])
    values: list[float] = []
    for a, b in itertools.pairwise(bounds):
        g = y[a:b]
        if g.sum() == 0:
            continue
        ideal = np.sort(g)[::-1][:k]
        idcg = float((ideal / np.log2(np.arange(2, len(ideal) + 2))).sum())
        values.append(_dcg_tied(g, s[a:b], k) / idcg)
    return float(np.mean(values)) if values else math.nan
