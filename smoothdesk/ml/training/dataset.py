"""Training data from the snapshot log: labelled rows, and the split by time (never shuffled).

The log keeps every detail tick's group rows (store.detail_every, 30 s) for store.raw_hours (48 h)
and one detail tick's per minute after that, until store.max_age_days (7 d): the trainer sees a
week, the last two days twice as densely as the rest. Every row is labelled from the full
focus log, which is kept as long as the rows, so a thinned row's label is what it was when raw.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from smoothdesk.core.observation import GroupObservation
from smoothdesk.ml.errors import MLError
from smoothdesk.ml.training.labels import HOLD_LIMIT_S, HORIZON_S, attention_labels

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


@dataclass(frozen=True, slots=True)
class Dataset:
    rows: list[GroupObservation]
    labels: npt.NDArray[np.int8]

    @property
    def ticks(self) -> npt.NDArray[np.float64]:
        return np.array([r.ts for r in self.rows], dtype=np.float64)

    @property
    def positives(self) -> int:
        return int(self.labels.sum())

    def subset(self, mask: npt.NDArray[np.bool_]) -> Dataset:
        return Dataset([r for r, keep in zip(self.rows, mask, strict=True) if keep], self.labels[mask])


def parse_since(text: str) -> float:
    """A span like "90m", "24h", "7d" (or plain seconds) back from the newest row."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    if m is None:
        raise MLError(f"--since {text!r}: expected a span such as 90m, 24h or 7d")
    return float(m.group(1)) * _UNITS[m.group(2) or "s"]


def load(db: Path, since: str | None = None, horizon: float = HORIZON_S) -> tuple[Dataset, list[str]]:
    """Labelled rows from the log at `db`, and the store's problems (a replaced corrupt file...).

    Rows in the last `horizon` seconds of the log are dropped: their minute ahead is not logged
    yet, so a 0 there would be a guess, not an observation.
    """
    from smoothdesk.telemetry.store import SnapshotStore

    if not db.is_file():
        raise MLError(f"{db}: no snapshot log here (give --db, or --generate-trace to make one)")
    store = SnapshotStore.open(db, max_age_s=float("inf"), max_bytes=2**62)
    try:
        rows = store.observations(0.0)
        if not rows:
            raise MLError(f"{db}: the snapshot log holds no group observations")
        end = max(r.ts for r in rows)
        start = end - parse_since(since) if since else 0.0
        rows = [r for r in rows if start <= r.ts <= end - horizon]
        # A hold that began before `start` still labels the first rows (labels.HOLD_LIMIT_S).
        events = store.focus_events(start - HOLD_LIMIT_S)
        problems = list(store.problems)
    finally:
        store.close()
    if not rows:
        raise MLError(f"{db}: no observations in the chosen span (older than {horizon:.0f} s before the end)")
    labels = np.array(attention_labels(rows, events, horizon), dtype=np.int8)
    return Dataset(rows, labels), problems


def split_by_time(
    data: Dataset, test_fraction: float = 0.25, gap: float = HORIZON_S
) -> tuple[Dataset, Dataset]:
    """Earlier ticks train, later ticks test; rows within `gap` before the cut are dropped,
    because their labels look into the test period."""
    ticks = np.unique(data.ticks)
    if len(ticks) < 4:
        raise MLError(f"only {len(ticks)} ticks of data: too few to split into train and test")
    cut = float(ticks[int(len(ticks) * (1.0 - test_fraction))])
    t = data.ticks
    return data.subset(t < cut - gap), data.subset(t >= cut)
