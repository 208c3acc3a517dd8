#!/usr/bin/env python3
"""Writes the seeded synthetic desktop trace (smoothdesk.ml.training.trace) into a new snapshot log."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from smoothdesk.ml.training.trace import DEFAULT_START, write_trace


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("path", type=Path, help="new SQLite file to write")
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--days", type=float, default=3.0)
    p.add_argument("--tick", type=float, default=10.0, help="seconds between ticks (default 10)")
    p.add_argument("--start", type=float, default=DEFAULT_START, help="wall-clock start (epoch seconds)")
    args = p.parse_args()
    if args.path.exists():
        sys.exit(f"{args.path}: exists; the trace goes into a new file")
    ticks, rows = write_trace(
        args.path,
        seed=args.seed,
        days=args.days,
        start=args.start,
        tick_s=args.tick,
        progress=lambda m: print(m, file=sys.stderr),
    )
    print(f"wrote {ticks} ticks, {rows} group rows to {args.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
