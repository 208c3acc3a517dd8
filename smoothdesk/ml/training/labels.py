"""The attention label, derived from the focus log: did the person use the group within a minute?

A row observed at `ts` is labelled 1 when its group held the focus at any moment of
(ts, ts + horizon], or got an "input" event in that window; else 0.

"Held the focus" is read from the "focus" events: a group holds it from its own "focus" event
until the next "focus" event of any group (a "focus" event with group id "" means the focus went
to no group: a locked screen, the desktop), and at most HOLD_LIMIT_S, so that a gap in the log
(the helper was stopped) does not stretch one old focus over hours. A person reading one window
for ten minutes produces one "focus" event, and each of those ten minutes still counts as use.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from smoothdesk.core.observation import GroupObservation

HORIZON_S = 60.0
HOLD_LIMIT_S = 3600.0

FocusRow = tuple[float, str, int, str]  # (ts, group_id, pid, kind) as SnapshotStore.focus_events gives


@dataclass(slots=True)
class _Use:
    starts: list[float] = field(default_factory=list)
    ends: list[float] = field(default_factory=list)
    inputs: list[float] = field(default_factory=list)


def _uses(events: Iterable[FocusRow]) -> dict[str, _Use]:
    uses: dict[str, _Use] = {}
    current: tuple[str, float] | None = None

    def close(at: float) -> None:
        if current is not None and current[0]:
            use = uses.setdefault(current[0], _Use())
            use.starts.append(current[1])
            use.ends.append(min(at, current[1] + HOLD_LIMIT_S))

    for ts, gid, _pid, kind in sorted(events, key=lambda e: e[0]):
        if kind == "focus":
            close(ts)
            current = (gid, ts)
        elif kind == "input" and gid:
            uses.setdefault(gid, _Use()).inputs.append(ts)
    if current is not None:
        close(current[1] + HOLD_LIMIT_S)
    return uses


def attention_labels(
    observations: Sequence[GroupObservation], events: Iterable[FocusRow], horizon: float = HORIZON_S
) -> list[int]:
    """One 0/1 label per observation, in order (see the module docstring for the rule)."""
    uses = _uses(events)
    out: list[int] = []
    for o in observations:
        use = uses.get(o.group_id)
        out.append(0 if use is None else int(_used(use, o.ts, o.ts + horizon)))
    return out


def _used(use: _Use, start: float, stop: float) -> bool:
    # Holds are disjoint and in order, so their ends are sorted too: the last hold starting by
    # `stop` is the only one that can still run past `start`.
    i = bisect.bisect_right(use.starts, stop) - 1
    if i >= 0 and use.ends[i] > start:
        return True
    j = bisect.bisect_right(use.inputs, start)
    return j < len(use.inputs) and use.inputs[j] <= stop
