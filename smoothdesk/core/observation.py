"""One app group as seen at one tick: the row the snapshot log stores and the ranker's features read."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class GroupObservation:
    """Everything the ML features may use about one group at one tick.

    The helper builds these live; the snapshot log stores them field for field;
    the trainer reads them back. Features are computed from this type only, so
    the helper and the trainer compute them with the same code on the same values.
    `seconds_since_focus` and `seconds_since_audio` are -1 when never seen.
    """

    ts: float  # wall-clock seconds
    group_id: str
    name: str
    kind: str  # "unit" or "tree"
    uid: int
    klass: str  # the class decided at this tick
    rule_type: str  # classifier type ("" when no rule matched)
    n_procs: int
    n_threads: int
    cpu_tick: float  # percent of one core over the last tick, summed over members
    cpu_10s: float
    rss_bytes: int
    io_read_rate: float  # bytes per second
    io_write_rate: float
    age_s: float  # seconds since the oldest member started
    has_tty: bool
    focused: bool
    audio: bool
    seconds_since_focus: float
    seconds_since_audio: float
    focus_count_1h: int  # focus changes to this group over the last hour
