"""Parsing durations and rendering tables for smoothdeskctl."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from smoothdesk.cli.errors import CliError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str, argument: str = "DURATION") -> float:
    """'90', '90s', '15m', '1h30m', '2d' -> seconds."""
    t = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", t):
        seconds = float(t)
    else:
        parts = re.findall(r"(\d+(?:\.\d+)?)([smhd])", t)
        if not parts or "".join(n + u for n, u in parts) != t:
            raise CliError(f"{argument}: cannot read {text!r} (try 90s, 15m, 1h or 2d)", 2)
        seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if seconds <= 0 or seconds > 30 * 86400:
        raise CliError(f"{argument}: must be more than 0 and at most 30 days", 2)
    return seconds


def human_bytes(n: float) -> str:
    for unit in ("B", "K", "M", "G"):
        if abs(n) < 1024 or unit == "G":
            return f"{n:.0f}{unit}" if unit == "B" else f"{n:.1f}{unit}"
        n /= 1024
    return f"{n:.1f}G"


def human_seconds(s: float) -> str:
    if s >= 3600:
        return f"{s / 3600:.1f}h"
    if s >= 60:
        return f"{s / 60:.0f}m"
    return f"{s:.0f}s"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], width: int = 160) -> str:
    """Left-aligned columns; the last column takes whatever width is left."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, c in enumerate(row[:-1]):
            widths[i] = min(max(widths[i], len(c)), 40)
    used = sum(w + 2 for w in widths[:-1])
    last = max(20, width - used)
    out = []
    for row in [list(headers), *cells]:
        parts = [c[:w].ljust(w) for c, w in zip(row[:-1], widths[:-1], strict=True)]
        out.append("  ".join([*parts, row[-1][:last]]).rstrip())
    return "\n".join(out)
