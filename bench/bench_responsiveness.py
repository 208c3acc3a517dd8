"""Responsiveness: probe wake lateness under 8 compiler-named hogs, unmanaged vs managed vs FIFO.

Three topologies: hogs in the probe's own process group (an app that runs a build: the group's
leader is a `sleep` standing in for the app), hogs in the probe's session (own process group,
like a shell job) and in a separate session (own autogroup). Prints p50/p99 and the ratios the
issues set limits on.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess

from common import Workspace, require_root, wait_demoted

TOPOLOGIES = {"same group": "group", "same session": "session", "other session": "other"}


def measure(ws: Workspace, seconds: float, topology: str) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    app = subprocess.Popen(["sleep", "3600"], process_group=0) if topology == "group" else None
    pgid = app.pid if app is not None else 0
    hogs = ws.hogs(8, new_session=topology == "other", pgid=pgid)
    out["unmanaged"] = ws.run_probe(seconds, pgid=pgid)
    out["fifo"] = ws.run_probe(seconds, fifo=True, pgid=pgid)
    helper = ws.helper()
    if not all(wait_demoted(h.pid, 10) for h in hogs):
        raise SystemExit("the helper did not demote the hogs")
    out["managed"] = ws.run_probe(seconds, pgid=pgid)
    ws.kill([helper, *hogs, *([app] if app is not None else [])])
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
        for label, topology in TOPOLOGIES.items():
            r = median_run([measure(ws, args.seconds, topology) for _ in range(args.reps)])
            for variant in ("unmanaged", "managed", "fifo"):
                v = r[variant]
                print(f"{label:<16}{variant:<11}{v['p50']:>9.0f}{v['p99']:>9.0f}{v['max']:>9.0f}")
            managed, fifo, unmanaged = r["managed"]["p99"], r["fifo"]["p99"], r["unmanaged"]["p99"]
            print(
                f"{label:<16}managed p99 / FIFO p99 = {managed / max(fifo, 1):.2f} (limit <= 2)   "
                f"unmanaged p99 / managed p99 = {unmanaged / max(managed, 1):.1f} (limit >= 20; "
                f"never below 1)"
            )


if __name__ == "__main__":
    main()
