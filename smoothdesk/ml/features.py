"""ML features: one function used by both the helper and the trainer.

Every feature is computed from a `GroupObservation` alone, so a row read back from the snapshot
log gives exactly the vector the helper computed live (tests/unit/ml/test_ml_parity.py checks it).

What is left out, and why:

- `klass`, the class the policy decided at this tick. The ranker itself sways that decision
  (keep or demote a noisy group), so learning from it would feed the model its own past output;
  and the helper scores the groups *before* deciding, when this tick's class does not exist yet.
  `rule_type` (what the classifier says the program is) depends on the rules alone: it is used.
- `ts`, `group_id`, `name`: identities, not behaviour. A model keyed on "firefox" or on one
  session's random scope id would not carry over to another person's desktop.
- `uid` as a number: only whether it is a system account (< 1000) carries meaning.

Categoricals are one-hot over fixed lists with an "other" bucket, because CatBoost cannot export
categorical features to ONNX. Changing anything here means bumping FEATURES_VERSION: a model
trained on other features is then refused by the ranker instead of silently misread.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

from smoothdesk.core.observation import GroupObservation

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

FEATURES_VERSION = 1

# Types of the built-in table and the common ananicy-cpp ones (lower-cased); "" is "no rule".
RULE_TYPES: tuple[str, ...] = (
    "audio",
    "compositor",
    "browser",
    "terminal",
    "editor",
    "game",
    "chat",
    "player-audio",
    "player-video",
    "doc-view",
    "image-view",
    "compiler",
    "build",
    "compressor",
    "package-manager",
    "indexer",
    "backup",
    "updater",
    "service",
)

_NUMERIC: tuple[str, ...] = (
    "n_procs",
    "n_threads",
    "cpu_tick",
    "cpu_10s",
    "rss_mib",
    "io_read_kib_s",
    "io_write_kib_s",
    "age_s",
    "has_tty",
    "focused",
    "audio",
    "seconds_since_focus",
    "seconds_since_audio",
    "focus_count_1h",
    "kind_unit",
    "system_uid",
)
_TYPE_COLUMNS: tuple[str, ...] = (*(f"type={t}" for t in RULE_TYPES), "type=none", "type=other")

FEATURES: tuple[str, ...] = (*_NUMERIC, *_TYPE_COLUMNS)
N_FEATURES = len(FEATURES)
FEATURES_HASH = hashlib.sha256(f"{FEATURES_VERSION}:{','.join(FEATURES)}".encode()).hexdigest()[:16]

_TYPE_BASE = len(_NUMERIC)
_TYPE_INDEX = {t: _TYPE_BASE + i for i, t in enumerate(RULE_TYPES)}
_TYPE_NONE = _TYPE_BASE + len(RULE_TYPES)
_TYPE_OTHER = _TYPE_NONE + 1
_MIB = float(2**20)


def type_column(rule_type: str) -> int:
    """The column index of a rule type's one-hot bit (case-insensitive; unknown -> "other")."""
    key = rule_type.strip().lower()
    if not key:
        return _TYPE_NONE
    return _TYPE_INDEX.get(key, _TYPE_OTHER)


def _numeric(o: GroupObservation) -> tuple[float, ...]:
    return (
        float(o.n_procs),
        float(o.n_threads),
        o.cpu_tick,
        o.cpu_10s,
        o.rss_bytes / _MIB,
        o.io_read_rate / 1024.0,
        o.io_write_rate / 1024.0,
        o.age_s,
        1.0 if o.has_tty else 0.0,
        1.0 if o.focused else 0.0,
        1.0 if o.audio else 0.0,
        o.seconds_since_focus,
        o.seconds_since_audio,
        float(o.focus_count_1h),
        1.0 if o.kind == "unit" else 0.0,
        1.0 if o.uid < 1000 else 0.0,
    )


def vector(obs: GroupObservation) -> list[float]:
    """The feature vector of one observation, in FEATURES order (float32-exact values)."""
    return [float(v) for v in matrix([obs])[0]]


def matrix(rows: Sequence[GroupObservation]) -> npt.NDArray[np.float32]:
    """The feature matrix of many observations: one row each, FEATURES columns, float32."""
    import numpy as np  # ~15 MB resident: loaded only where a model is used or trained

    out = np.zeros((len(rows), N_FEATURES), dtype=np.float32)
    if not rows:
        return out
    out[:, :_TYPE_BASE] = np.array([_numeric(o) for o in rows], dtype=np.float64)
    cols = np.fromiter((type_column(o.rule_type) for o in rows), dtype=np.intp, count=len(rows))
    out[np.arange(len(rows)), cols] = 1.0
    return out
