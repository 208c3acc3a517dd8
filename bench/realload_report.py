"""bench_realload's table, ratios and limits (the ones issue 10 names), from the measured cells."""

from __future__ import annotations

import statistics
from typing import Any

TOPOLOGIES = {"a": "child", "b": "unit", "c": "session"}
MEASURES = ("ct_p99", "ct_max", "wake_p99", "done_p99", "launch_ms")
# What "never worse than unmanaged" compares. A max is one sample, set by host stalls here.
COMPARED = ("ct_p99", "wake_p99", "done_p99", "launch_ms")
Limit = tuple[str, float | None, float, bool]


def medians(cells: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Per (topology, mode): the median of each measure over the clean repeats (None if one failed)."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for key in sorted({(c["topo"], c["mode"]) for c in cells}):
        group = [c for c in cells if (c["topo"], c["mode"]) == key]
        clean = [c for c in group if not c.get("touched")] or group
        row: dict[str, Any] = {}
        for k in (*MEASURES, "noise"):
            vals = [c[k] for c in clean if c.get(k) is not None]
            row[k] = statistics.median(vals) if vals and len(vals) == len(clean) else None
        row["errors"] = sorted({c["error"] for c in clean if "error" in c})
        row["states"] = clean[-1].get("app", ""), clean[-1].get("storm", "")
        row["contaminated"] = all(c.get("touched") for c in group)
        out[key] = row
    return out


def fmt(v: float | None, width: int = 9) -> str:
    return f"{'n/a':>{width}}" if v is None else f"{v:>{width}.0f}"


def ratio(name: str, num: float | None, den: float | None, limit: float) -> Limit:
    # A measure that could not be taken (cyclictest refused to start) fails its limit.
    r = None if num is None or den is None else num / max(den, 1.0)
    return name, r, limit, r is not None and r <= limit


def limits(t: dict[tuple[str, str], dict[str, Any]], tolerance: float, sd_mode: str) -> list[Limit]:
    """The limits for one SmoothDesk mode, per topology."""
    out = []
    idle = t.get(("idle", "idle"), {}).get("launch_ms")
    for topo in sorted({k[0] for k in t} - {"idle"}):
        sd, fifo, un = t[(topo, sd_mode)], t[(topo, "fifo")], t[(topo, "unmanaged")]
        label = f"{topo} {TOPOLOGIES[topo]}" + ("" if sd_mode == "smoothdesk" else f" {sd_mode}")
        if topo in ("a", "c"):
            out.append(ratio(f"{label}: SmoothDesk/FIFO cyclictest p99", sd["ct_p99"], fifo["ct_p99"], 2))
            out.append(ratio(f"{label}: SmoothDesk/FIFO waker wake p99", sd["wake_p99"], fifo["wake_p99"], 2))
        if topo == "c":
            out.append(
                ratio(f"{label}: SmoothDesk/FIFO waker completion p99", sd["done_p99"], fifo["done_p99"], 2)
            )
        for k in COMPARED:
            out.append(ratio(f"{label}: SmoothDesk/unmanaged {k}", sd[k], un[k], 1 + tolerance))
        out.append(ratio(f"{label}: SmoothDesk launch / idle launch", sd["launch_ms"], idle, 1.5))
    return out


def table(t: dict[tuple[str, str], dict[str, Any]]) -> list[str]:
    lines = [
        f"{'topology':<11}{'mode':<17}{'ct p99':>9}{'ct max':>9}{'wake p99':>9}{'done p99':>9}"
        f"{'launch ms':>10}{'noise':>7}"
    ]
    for (topo, mode), row in t.items():
        label = "idle" if topo == "idle" else f"{topo} {TOPOLOGIES[topo]}"
        noise = "" if row["noise"] is None else f"{row['noise'] * 100:>6.0f}%"
        lines.append(
            f"{label:<11}{mode:<17}{fmt(row['ct_p99'])}{fmt(row['ct_max'])}{fmt(row['wake_p99'])}"
            f"{fmt(row['done_p99'])}{fmt(row['launch_ms'], 10)}{noise}"
            + ("  (storm changed by another helper)" if row["contaminated"] else "")
        )
        lines += [f"{'':<28}error: {e}" for e in row["errors"]]
    return lines


def report(cells: list[dict[str, Any]], reps: int, tolerance: float, sd_modes: list[str]) -> bool:
    """Print the table, what the helper did, the noise and every limit; True when all pass."""
    t = medians(cells)
    print(f"\nmedians over {reps} repeat(s); us, launch in ms; noise: CPU share other processes used")
    print("\n".join(table(t)))
    print("\nlevers seen in the SmoothDesk cells (the measured app | one cc1):")
    for (topo, mode), row in t.items():
        if mode in sd_modes:
            print(f"  {topo} {mode}: {row['states'][0]} | {row['states'][1]}")
    sd = [c for c in cells if c["mode"] in sd_modes]
    for key, what in (("ready_after_s", "ran its tick loop"), ("demoted_after_s", "demoted the storm")):
        waits = [c[key] for c in sd if c.get(key) is not None]
        print(
            f"the helper {what} in {len(waits)} of {len(sd)} SmoothDesk cells"
            + (f", {min(waits):.1f}-{max(waits):.1f} s after its start (under the storm)" if waits else "")
        )
    left = [c for c in sd if c.get("left_changed")]
    print(
        f"after SIGTERM the helper left changes in {len(left)} of {len(sd)} cells"
        + "".join(f"; {c['topo']} {c['mode']}: {c['left_changed']} of {c['left_of']}" for c in left)
        + " (the app and the storm's processes then alive)"
    )
    n = sum(1 for c in cells if c.get("foreign_helpers"))
    print(f"{n} of {len(cells)} cells ran while other agents' smoothdesk-helpers ran (tests, benches)")
    touched = [c for c in cells if c.get("touched")]
    if touched:
        print(
            f"{len(touched)} cell(s) found the storm changed by another agent's helper (left out if retaken):"
        )
        print("".join(f"  {c['topo']} {c['mode']}: {c['storm']}\n" for c in touched), end="")
    noise = [c["noise"] for c in cells if c.get("noise") is not None]
    if noise:
        print(
            f"noise: other processes used {min(noise) * 100:.0f}-{max(noise) * 100:.0f}% "
            f"(median {statistics.median(noise) * 100:.0f}%) of all CPUs during the measurements"
        )
    print(f"\nlimits (never-worse allows {tolerance * 100:.0f}% for noise, --tolerance):")
    ok = True
    for name, r, lim, passed in [x for mode in sd_modes for x in limits(t, tolerance, mode)]:
        ok &= passed
        shown = "n/a" if r is None else f"{r:.2f}"
        print(f"  {'PASS' if passed else 'FAIL'}  {name} = {shown} (limit <= {lim:g})")
    return ok
