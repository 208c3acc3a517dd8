"""Conversions between the helper's values and the snapshot log's rows, and the per-tick process pick."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from smoothdesk.core.observation import GroupObservation
from smoothdesk.core.process import ProcessRecord
from smoothdesk.telemetry.schema import OBSERVATION_COLUMNS, SAMPLE_COLUMNS

GroupKey = tuple[str, str, str, int]  # group_id, name, kind, uid: one row of `groups`
_BOOL_FIELDS = frozenset({"has_tty", "focused", "audio"})


def sample_row(ts: float, sample: Mapping[str, float | int]) -> tuple[Any, ...]:
    """(ts, known columns..., extra JSON or None). `time` is dropped: `ts` is the tick's time.

    ValueError names the first metric that is not a number (SQLite would store it as text).
    """
    for key, value in sample.items():
        if not isinstance(value, int | float):
            raise ValueError(f"metric {key!r} is {type(value).__name__}, not a number")
    extra = {
        k: float(v) if isinstance(v, bool) else v
        for k, v in sample.items()
        if k not in SAMPLE_COLUMNS and k != "time"
    }
    known = tuple(sample.get(c) for c in SAMPLE_COLUMNS)
    return (ts, *known, json.dumps(extra, separators=(",", ":")) if extra else None)


def sample_dict(row: Sequence[Any]) -> dict[str, float]:
    """The inverse of sample_row for a (ts, known..., extra) row; absent metrics stay absent."""
    out: dict[str, float] = {"time": float(row[0])}
    for name, value in zip(SAMPLE_COLUMNS, row[1 : 1 + len(SAMPLE_COLUMNS)], strict=True):
        if value is not None:
            out[name] = float(value)
    if row[-1]:
        out.update(json.loads(row[-1]))
    return out


def group_key(obs: GroupObservation) -> GroupKey:
    return (obs.group_id, obs.name, obs.kind, obs.uid)


def observation_row(tick: int, seq: int, gkey: int, tick_ts: float, obs: GroupObservation) -> tuple[Any, ...]:
    # ts is stored only when it differs from the tick's time (NULL costs no bytes).
    own_ts = None if obs.ts == tick_ts else obs.ts
    return (tick, seq, gkey, own_ts, *(getattr(obs, c) for c in OBSERVATION_COLUMNS))


def observation_from_row(row: Sequence[Any]) -> GroupObservation:
    """Row layout: tick ts, own ts, group_id, name, kind, uid, OBSERVATION_COLUMNS..."""
    values: dict[str, Any] = {}
    for name, stored in zip(OBSERVATION_COLUMNS, row[6:], strict=True):
        if name in _BOOL_FIELDS:
            values[name] = bool(stored)
        else:
            values[name] = math.nan if stored is None else stored  # SQLite stores NaN as NULL
    ts = row[0] if row[1] is None else row[1]
    return GroupObservation(ts=ts, group_id=row[2], name=row[3], kind=row[4], uid=row[5], **values)


def pick_processes(
    processes: Sequence[ProcessRecord], classes: Mapping[int, str], keep: int
) -> list[ProcessRecord]:
    """The `keep` busiest processes plus every process whose group is not in class `normal`.

    Storing every process every tick costs ~10x the bytes (see bench/bench_store.py) and idle
    processes say nothing the group rows do not; demoted and boosted ones are what a person
    reviewing a decision wants to see.
    """
    busiest = sorted(processes, key=lambda p: p.cpu_tick, reverse=True)[:keep]
    chosen = {p.pid for p in busiest}
    special = [p for p in processes if p.pid not in chosen and classes.get(p.pid, "normal") != "normal"]
    return busiest + special


def process_row(
    tick: int, seq: int, p: ProcessRecord, gkey: int | None, klass: str | None
) -> tuple[Any, ...]:
    return (
        tick,
        seq,
        p.pid,
        p.start_time,
        p.cpu_tick,
        p.cpu_10s,
        p.rss,
        p.io_read_rate,
        p.io_write_rate,
        p.nice,
        p.policy,
        p.ioprio,
        p.threads,
        p.state,
        gkey,
        klass,
    )


def cmdline_text(cmdline: Sequence[str], salt: bytes | None) -> str:
    """The command line NUL-joined, or "sha256:<hex>" of it with the per-database salt."""
    text = "\0".join(cmdline)
    if salt is None:
        return text
    return "sha256:" + hashlib.sha256(salt + text.encode("utf-8", "surrogateescape")).hexdigest()
