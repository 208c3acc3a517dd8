"""bench_levers' tables: the lever table, and the sweep of EEVDF custom slices for the probe.

The sweep asks which custom slice to give the probe (the focused app).
Each variant gives the probe a custom slice from birth (set in the forked child before exec, so
the first wake-up already has it) and runs it next to 8 hogs that are either unmanaged or demoted
by the real Actuator (BACKGROUND). Both the wake-up lateness and the completion of each cycle's
0.5 ms of work (done - deadline) are kept: a short slice helps the first and can hurt the second,
because the probe's own work is cut into slice-sized pieces.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from smoothdesk.core import PriorityClass

SIZES_US = (0, 100, 250, 500, 1000)  # 0: no custom slice, the kernel's base slice


def slice_variants(
    run_dir: Path, demote: Callable[[PriorityClass, Path], Callable[[Any], None]]
) -> list[tuple[str, Callable[[Any], None] | None, bool, bool, int]]:
    """(name, apply to hogs, probe at FIFO, only with hogs in another session, probe slice ns)."""
    out: list[tuple[str, Callable[[Any], None] | None, bool, bool, int]] = [
        ("probe SCHED_FIFO", None, True, False, 0),
    ]
    for hogs in ("unmanaged", "BACKGROUND"):
        apply = None if hogs == "unmanaged" else demote(PriorityClass.BACKGROUND, run_dir)
        for us in SIZES_US:
            size = f"slice {us} us" if us else "base slice"
            out.append((f"hogs {hogs}, probe {size}", apply, False, False, us * 1000))
    return out


Row = dict[str, object]


def _f(row: Row, key: str) -> float:
    value = row[key]
    assert isinstance(value, (int, float))
    return float(value)


def _hogs(row: Row) -> str:
    return str(row["variant"]).split(", probe")[0]


def _base(rows: list[Row], row: Row) -> Row | None:
    """The row with the same topology and hogs whose probe has no custom slice."""
    name = f"{_hogs(row)}, probe base slice"
    return next((r for r in rows if r["topology"] == row["topology"] and r["variant"] == name), None)


def pick(rows: list[Row], limit: float) -> dict[str, Row]:
    """Per topology and hog mode: the row with the lowest wake p99 whose completion p99 is at most
    `limit` x that of the base slice in the same topology and hog mode."""
    chosen: dict[str, Row] = {}
    for row in rows:
        base = _base(rows, row)
        if "FIFO" in str(row["variant"]) or base is None:
            continue
        if _f(row, "done_p99") > limit * _f(base, "done_p99"):
            continue
        group = f"{row['topology']}, {_hogs(row)}"
        if group not in chosen or _f(row, "p99") < _f(chosen[group], "p99"):
            chosen[group] = row
    return chosen


def choose(rows: list[Row], limit: float, hogs: str = "hogs BACKGROUND") -> tuple[str, float] | None:
    """The size for the actuator: with the load demoted (how the slice is used), the one whose
    worse wake p99 ratio to the base slice over both topologies is lowest, among those whose
    completion p99 stays within `limit` x the base slice's in both."""
    best: tuple[str, float] | None = None
    sizes = {str(r["variant"]).split("probe ")[1] for r in rows if _hogs(r) == hogs}
    for size in sorted(sizes - {"base slice"}):
        ratios = []
        for row in (r for r in rows if r["variant"] == f"{hogs}, probe {size}"):
            base = _base(rows, row)
            if base is None or _f(row, "done_p99") > limit * _f(base, "done_p99"):
                break
            ratios.append(_f(row, "p99") / _f(base, "p99"))
        else:
            if ratios and (best is None or max(ratios) < best[1]):
                best = (size, max(ratios))
    return best


def print_slice_table(rows: list[Row], limit: float) -> None:
    print(
        "| topology | variant | wake p50 us | wake p99 us | done p50 us | done p99 us "
        "| wake p99/base slice | done p99/base slice | wake p99/FIFO | hog CPU % | foreign % | runs |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for row in rows:
        same = [r for r in rows if r["topology"] == row["topology"]]
        fifo = next((r for r in same if "FIFO" in str(r["variant"])), None)
        base = _base(rows, row)
        wake, done = _f(row, "p99"), _f(row, "done_p99")
        bw, bd = (_f(base, "p99"), _f(base, "done_p99")) if base else (0.0, 0.0)
        fw = _f(fifo, "p99") if fifo else 0.0
        print(
            f"| {row['topology']} | {row['variant']} | {_f(row, 'p50'):.0f} | {wake:.0f} "
            f"| {_f(row, 'done_p50'):.0f} | {done:.0f} | {wake / bw if bw else 0:.2f} "
            f"| {done / bd if bd else 0:.2f} | {wake / fw if fw else 0:.1f} "
            f"| {_f(row, 'hog_cpu_pct'):.0f} | {_f(row, 'foreign_pct'):.0f} | {row['runs']} |"
        )
    print(f"\nlowest wake p99 with done p99 <= {limit:g} x the base slice's (same topology and hogs):")
    for group, row in pick(rows, limit).items():
        print(f"  {group}: {str(row['variant']).split('probe ')[1]} (wake p99 {_f(row, 'p99'):.0f} us)")
    chosen = choose(rows, limit)
    if chosen is not None:
        print(
            f"chosen (hogs demoted, worst topology): {chosen[0]}, wake p99 {chosen[1]:.2f} x the base slice's"
        )


def print_table(rows: list[dict[str, object]]) -> None:
    print(
        "| topology | variant | p50 us | p95 us | p99 us | wakes >1 ms | p99/unmanaged | p99/FIFO "
        "| fg share % | hog CPU % | foreign % | runs |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for row in rows:
        same = {str(r["variant"]): float(r["p99"]) for r in rows if r["topology"] == row["topology"]}  # type: ignore[arg-type]
        base, fifo = same.get("unmanaged", 0.0), same.get("probe SCHED_FIFO", 0.0)
        p99 = float(row["p99"])  # type: ignore[arg-type]
        print(
            f"| {row['topology']} | {row['variant']} | {row['p50']:.0f} | {row['p95']:.0f} | {p99:.0f} "
            f"| {row['late_pct']:.2f}% | {p99 / base if base else 0:.3f} | {p99 / fifo if fifo else 0:.1f} "
            f"| {row['fg_share_pct']:.0f} | {row['hog_cpu_pct']:.0f} | {row['foreign_pct']:.0f} "
            f"| {row['runs']} |"
        )
