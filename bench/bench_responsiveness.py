"""Responsiveness: probe wake lateness under 8 compiler-named hogs, unmanaged vs managed vs FIFO.

Both topologies: hogs in the probe's session (own process group, like a shell job) and in a
separate session (own autogroup). Prints p50/p99 and the ratios the issue sets limits on.
"""

from __future__ import annotations

import argparse
import statistics

from common import Workspace, require_root, wait_demoted


def measure(ws: Workspace, seconds: float, new_session: bool) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    hogs = ws.hogs(8, new_session=new_session)
    out["unmanaged"] = ws.run_probe(seconds)
    out["fifo"] = ws.run_probe(seconds, fifo=True)
    helper = ws.helper()
    if not all(wait_demoted(h.pid, 10) for h in hogs):
        raise SystemExit("the helper did not demote the hogs")
    out["managed"] = ws.run_probe(seconds)
    ws.kill([helper, *hogs])
    return out


def median_run(runs: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Per variant and figure, the median over the repeats (this VM has rare host stalls)."""
    return {v: {k: statistics.median(r[v][k] for r in runs) for k in ("p50", "p99", "max")} for v in runs[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="probe run per variant")
    parser.add_argument("--reps", type=int, default=3, help="repeats per topology; medians shown")
    args = parser.parse_args()
    require_root()
    with Workspace() as ws:
        print(f"medians of {args.reps} runs of {args.seconds:g} s per variant")
        print(f"{'topology':<16}{'variant':<11}{'p50 us':>9}{'p99 us':>9}{'max us':>9}")
        for label, new_session in (("same session", False), ("other session", True)):
            r = median_run([measure(ws, args.seconds, new_session) for _ in range(args.reps)])
            for variant in ("unmanaged", "managed", "fifo"):
                v = r[variant]
                print(f"{label:<16}{variant:<11}{v['p50']:>9.0f}{v['p99']:>9.0f}{v['max']:>9.0f}")
            managed, fifo, unmanaged = r["managed"]["p99"], r["fifo"]["p99"], r["unmanaged"]["p99"]
            print(
                f"{label:<16}managed p99 / FIFO p99 = {managed / max(fifo, 1):.2f} (limit <= 2)   "
                f"unmanaged p99 / managed p99 = {unmanaged / max(managed, 1):.1f} (limit >= 20)"
            )


if __name__ == "__main__":
    main()
