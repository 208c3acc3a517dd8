"""Decodes the SPA POD blobs PipeWire's profiler sends, into per-node xrun counts (pure Python)."""

from __future__ import annotations

import struct
from typing import Any

# spa/utils/type.h
NONE, BOOL, ID, INT, LONG, FLOAT, DOUBLE, STRING, BYTES, RECTANGLE, FRACTION = range(1, 12)
BITMAP, ARRAY, STRUCT, OBJECT = 12, 13, 14, 15
OBJECT_PROFILER = 0x40000 + 10
# spa/param/profiler.h
PROFILER_INFO, PROFILER_CLOCK, PROFILER_DRIVER_BLOCK = 0x10001, 0x10002, 0x10003
PROFILER_FOLLOWER_BLOCK = 0x20001

_SCALARS = {BOOL: "<i", ID: "<I", INT: "<i", LONG: "<q", FLOAT: "<f", DOUBLE: "<d"}


class PodError(ValueError):
    """A blob that is not the POD it claims to be (truncated, or a size past its end)."""


def _pad(size: int) -> int:
    return (size + 7) & ~7


def parse(blob: bytes, offset: int = 0) -> tuple[Any, int]:
    """One POD at `offset`: (value, offset of the next POD). Structs are lists, objects
    (type, id, [(key, value), ...]), fractions (num, denom); unknown types come back as raw bytes."""
    if offset + 8 > len(blob):
        raise PodError(f"POD header past the end at {offset}")
    size, kind = struct.unpack_from("<II", blob, offset)
    start, end = offset + 8, offset + 8 + size
    if end > len(blob):
        raise PodError(f"POD of {size} bytes at {offset} runs past the end ({len(blob)})")
    body = blob[start:end]
    value: Any
    if kind in _SCALARS:
        value = struct.unpack_from(_SCALARS[kind], body)[0]
    elif kind == STRING:
        value = body.split(b"\0", 1)[0].decode("utf-8", "replace")
    elif kind == FRACTION:
        value = struct.unpack_from("<II", body)
    elif kind == STRUCT:
        value, at = [], start
        while at < end:
            item, at = parse(blob[:end], at)
            value.append(item)
    elif kind == OBJECT:
        otype, oid = struct.unpack_from("<II", body)
        props: list[tuple[int, Any]] = []  # a key may repeat: one follower block per follower
        at = start + 8
        while at + 8 <= end:
            key = struct.unpack_from("<I", blob, at)[0]
            prop, at = parse(blob[:end], at + 8)
            props.append((key, prop))
        value = (otype, oid, props)
    elif kind == NONE:
        value = None
    else:
        value = body
    return value, start + _pad(size)


TRIGGERED, AWAKE = 1, 2  # activation states of a node the cycle ended without (it missed it)


class XrunCounter:
    """Xruns per graph node since this counter started, from the profiler's per-cycle samples.

    PipeWire 0.3.65 sends the driver's xrun count (in the info block) but no per-follower count:
    a follower whose cycle ended while it was still triggered or awake missed that cycle, and that
    is what is counted for it. Newer PipeWire adds a ninth field to each block with the node's own
    count; it is used where present. Cumulative counts seen first are the baseline, not new xruns.
    """

    def __init__(self) -> None:
        self.xruns: dict[int, int] = {}
        self.names: dict[int, str] = {}
        self._base: dict[int, int] = {}

    def _cumulative(self, node: int, total: int) -> None:
        base = self._base.setdefault(node, total)
        if total < base:  # a new node under a reused id
            base = self._base[node] = 0
        self.xruns[node] = total - base

    def feed(self, blob: bytes) -> None:
        """Count one profiler event (a Struct of Profiler objects, one per cycle)."""
        top, _ = parse(blob)
        for item in top if isinstance(top, list) else [top]:
            if isinstance(item, tuple) and item[0] == OBJECT_PROFILER:
                self._cycle(item[2])

    def _cycle(self, props: list[tuple[int, Any]]) -> None:
        info = next((v for k, v in props if k == PROFILER_INFO), None)
        for key, fields in props:
            if key not in (PROFILER_DRIVER_BLOCK, PROFILER_FOLLOWER_BLOCK) or not _block_ok(fields):
                continue
            node, name, status = fields[0], fields[1], fields[6]
            self.names[node] = name
            if len(fields) >= 9 and isinstance(fields[8], int):
                self._cumulative(node, fields[8])
            elif key == PROFILER_DRIVER_BLOCK:
                if isinstance(info, list) and len(info) >= 5 and isinstance(info[4], int):
                    self._cumulative(node, info[4])
                else:
                    self.xruns.setdefault(node, 0)
            else:
                self.xruns[node] = self.xruns.get(node, 0) + (status in (TRIGGERED, AWAKE))

    def forget(self, node: int) -> None:
        for table in (self.xruns, self.names, self._base):
            table.pop(node, None)


def _block_ok(fields: Any) -> bool:
    """(id, name, prev_signal, signal, awake, finish, status, latency[, xrun_count])"""
    return (
        isinstance(fields, list)
        and len(fields) >= 8
        and isinstance(fields[0], int)
        and isinstance(fields[1], str)
        and isinstance(fields[6], int)
    )
