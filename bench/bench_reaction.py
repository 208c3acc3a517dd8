"""Reaction: time from starting a compiler-named hog to its demotion by a running root helper."""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from common import Workspace, require_root


def demoted(pid: int) -> bool:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    fields = text[text.rfind(")") + 2 :].split()
    return int(fields[16]) != 0 or int(fields[38]) != 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=40)
    args = parser.parse_args()
    require_root()
    with Workspace() as ws:
        ws.binary("cc1plus")
        helper = ws.helper(tick=1.0)
        time.sleep(3.0)
        delays: list[float] = []
        misses = 0
        for _ in range(args.trials):
            t0 = time.perf_counter()
            (hog,) = ws.hogs(1)
            while not demoted(hog.pid):
                if time.perf_counter() - t0 > 3.0:
                    misses += 1
                    break
                time.sleep(0.0002)
            else:
                delays.append((time.perf_counter() - t0) * 1000)
            ws.kill([hog])
            time.sleep(0.05)
        ws.kill([helper])
    delays.sort()
    p95 = delays[int(0.95 * (len(delays) - 1))] if delays else float("nan")
    print(
        f"exec -> demotion over {args.trials} trials: p50 {statistics.median(delays):.1f} ms, "
        f"p95 {p95:.1f} ms, max {delays[-1]:.1f} ms, misses {misses}"
    )
    print(f"p95 / 50 ms limit = {p95 / 50:.2f} (must be <= 1)")


if __name__ == "__main__":
    main()
