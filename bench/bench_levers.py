"""Measure which actuator levers keep a latency probe responsive next to 8 CPU hogs.

Compiles bench/probe.c and a spinning hog (copied as "cc1plus") into a temp dir, then for each
topology (hogs in the probe's session; hogs in their own session, i.e. another autogroup) and each
variant (no management, one lever, combinations, the Actuator's class table, the probe at
SCHED_FIFO) starts fresh hogs, applies the levers through smoothdesk.actuator, runs the probe and
records its wake-up lateness; then a 2-thread "foreground" spinner in the probe's session runs
for a moment to measure the share of the machine it gets (the autogroup effect: nice on hogs in
another session does not give that share back). Reps are interleaved across variants so that
slow drifts of the host hit every variant alike; figures are medians over reps. Prints a table
with ratios against unmanaged and against FIFO, plus the probe alone (no hogs) as the floor.

--slices sweeps the probe's EEVDF custom slice instead, over unmanaged and demoted hogs, and picks
the size (bench/levers_tables.py). Shared machine: --shield puts every bench session at autogroup
nice -20; the hogs carry an explicit ioprio, which other helpers leave alone; a run during which
something else changed our processes is dropped (bench/interference.py). Needs root. Usage:
    .venv/bin/python bench/bench_levers.py [--seconds 5] [--reps 1] [--json out.json] [--slices --shield]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from smoothdesk.actuator import Actuator, CgroupV1Backend, LeverSet
from smoothdesk.actuator import syscalls as sc
from smoothdesk.core import AppGroup, Decision, PriorityClass, ProcessRecord, Reason
from smoothdesk.core.process import SCHED_BATCH, SCHED_IDLE

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cpu_share import allowed_cpus, busy_ticks, foreground_share
from interference import SHIELD_NICE, changed, exempt_from_other_helpers, self_demoted, shield, state
from io_progress import io_progress
from levers_tables import print_slice_table, print_table, slice_variants

from smoothdesk.actuator import slices

HOGS = 8
NO_HOGS = "no hogs (probe alone)"
FIGURES = ("p50", "p95", "p99", "max", "done_p50", "done_p99")  # from the probe's JSON
PROC = Path("/proc")
CG_MOUNT = Path("/sys/fs/cgroup/cpu")
HOG_C = r"""
#include <pthread.h>
#include <stdlib.h>
static void *spin(void *a) { volatile unsigned long x = 0; for (;;) x++; return a; }
int main(int c, char **v) {
    int n = c > 1 ? atoi(v[1]) : 1;
    pthread_t t;
    for (int i = 1; i < n; i++) pthread_create(&t, 0, spin, 0);
    spin(0);
}
"""


def build(tmp: Path) -> tuple[Path, Path]:
    probe, hog = tmp / "probe", tmp / "cc1plus"
    src = Path(__file__).with_name("probe.c")
    subprocess.run(["gcc", "-O2", "-Wall", "-o", str(probe), str(src)], check=True)
    (tmp / "hog.c").write_text(HOG_C)
    subprocess.run(["gcc", "-O2", "-pthread", "-o", str(hog), str(tmp / "hog.c")], check=True)
    return probe, hog


class Hogs:
    """8 spinning cc1plus processes, in our session or in a new one (its own autogroup)."""

    def __init__(self, hog: Path, separate: bool, count: int = HOGS, shielded: bool = False) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []
        self.pids: list[int] = []
        if count == 0:
            return
        if separate:
            # One new session for all 8, like `make -j8` in another terminal: setsid execs sh,
            # which starts 7 hogs and then becomes the 8th, so the session holds hogs only.
            script = f"for i in $(seq {HOGS - 1}); do {hog} & done; exec {hog}"
            leader = subprocess.Popen(["setsid", "sh", "-c", script], preexec_fn=exempt_from_other_helpers)  # noqa: PLW1509
            self.procs.append(leader)
            time.sleep(0.3)
            self.pids = _session_members(leader.pid)
            if shielded:
                shield(self.pids[0])
        else:
            self.procs = [
                subprocess.Popen([str(hog)], preexec_fn=exempt_from_other_helpers)  # noqa: PLW1509
                for _ in range(HOGS)
            ]
            self.pids = [p.pid for p in self.procs]
        time.sleep(0.2)

    def cpu_ticks(self) -> int:
        total = 0
        for pid in self.pids:
            try:
                fields = (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
            except OSError:
                pass
        return total

    def stop(self) -> None:
        for pid in self.pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)
        for p in self.procs:
            p.wait()
        time.sleep(0.1)


def _session_members(sid: int) -> list[int]:
    out = []
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == sid:
                out.append(int(entry.name))
    return sorted(out)


def record_of(pid: int) -> ProcessRecord:
    ag = sc.read_autogroup(pid, PROC)
    return ProcessRecord(
        pid=pid,
        ppid=0,
        uid=0,
        comm="cc1plus",
        start_time=sc.read_start_time(pid, PROC),
        autogroup=ag[0] if ag else None,
        autogroup_nice=ag[1] if ag else None,
    )


def per_thread(fn: Callable[[int], None]) -> Callable[[Hogs], None]:
    def apply(h: Hogs) -> None:
        for pid in h.pids:
            for tid in sc.list_tids(pid, PROC):
                fn(tid)

    return apply


def autogroup19(h: Hogs) -> None:
    sc.write_autogroup_nice(h.pids[0], 19, PROC)


def cgroup(levers: LeverSet) -> Callable[[Hogs], None]:
    def apply(h: Hogs) -> None:
        backend = CgroupV1Backend(CG_MOUNT, prefix="smoothdesk-bench")
        for pid in h.pids:
            rec = record_of(pid)
            backend.demote(backend.target(rec) or "", rec, PriorityClass.BACKGROUND, levers)

    return apply


def chain(*fns: Callable[[Hogs], None]) -> Callable[[Hogs], None]:
    def apply(h: Hogs) -> None:
        for fn in fns:
            fn(h)

    return apply


def actuator_class(klass: PriorityClass, run_dir: Path) -> Callable[[Hogs], None]:
    """The real path: Actuator.apply with its default table, as the helper would call it."""

    def apply(h: Hogs) -> None:
        backend = CgroupV1Backend(CG_MOUNT, prefix="smoothdesk-bench")
        act = Actuator(run_dir, cgroup_backend=backend)
        # The whole process table, as the collector would give it: the bench itself shares
        # the probe's session, so the actuator must see it (and so keep that autogroup alone).
        procs = {}
        for entry in PROC.iterdir():
            if entry.name.isdigit():
                try:
                    procs[int(entry.name)] = record_of(int(entry.name))
                except (OSError, ValueError, IndexError):
                    continue
        group = AppGroup("bench:hogs", "cc1plus", "tree", 0, h.pids[0], tuple(h.pids))
        decision = Decision(group.id, klass, (Reason("bench", klass.value),))
        act.apply({group.id: decision}, [group], procs)
        h.actuator = act  # type: ignore[attr-defined]

    return apply


nice19 = per_thread(lambda t: sc.set_nice(t, 19))
sched_idle = per_thread(lambda t: sc.set_policy(t, SCHED_IDLE))
sched_batch = per_thread(lambda t: sc.set_policy(t, SCHED_BATCH))
cg_weight1 = cgroup(LeverSet(cpu_weight=1))
cg_idle = cgroup(LeverSet(cpu_idle=True))


def variants(run_dir: Path) -> list[tuple[str, Callable[[Hogs], None] | None, bool, bool]]:
    """(name, apply, probe at FIFO, only meaningful with hogs in another session)."""
    return [
        (NO_HOGS, None, False, False),
        ("unmanaged", None, False, False),
        ("probe SCHED_FIFO", None, True, False),
        ("nice 19", nice19, False, False),
        ("SCHED_BATCH", sched_batch, False, False),
        ("SCHED_IDLE", sched_idle, False, False),
        ("autogroup nice 19", autogroup19, False, True),
        ("v1 cpu.shares=10 (weight 1)", cg_weight1, False, False),
        ("v1 cpu.idle=1", cg_idle, False, False),
        ("nice 19 + SCHED_IDLE", chain(nice19, sched_idle), False, False),
        ("nice 19 + autogroup 19", chain(nice19, autogroup19), False, True),
        ("SCHED_IDLE + autogroup 19", chain(sched_idle, autogroup19), False, True),
        ("v1 cpu.idle=1 + nice 19", chain(cg_idle, nice19), False, False),
        ("v1 cpu.idle=1 + nice 19 + SCHED_IDLE", chain(cg_idle, nice19, sched_idle), False, False),
        ("Actuator BACKGROUND", actuator_class(PriorityClass.BACKGROUND, run_dir), False, False),
        ("Actuator IDLE", actuator_class(PriorityClass.IDLE, run_dir), False, False),
    ]


def run_variant(
    probe: Path,
    hog: Path,
    apply: Callable[[Hogs], None] | None,
    *,
    separate: bool,
    fifo: bool,
    seconds: float,
    hogs_count: int = HOGS,
    slice_ns: int = 0,
    share: bool = True,
    shielded: bool = False,
) -> dict[str, float] | None:
    """The probe's figures, or None when something else changed our processes meanwhile."""
    hogs = Hogs(hog, separate, hogs_count, shielded)
    cpus = allowed_cpus()
    hz = os.sysconf("SC_CLK_TCK")
    try:
        if apply is not None:
            apply(hogs)
        time.sleep(0.2)
        applied = state(hogs.pids)
        before, busy0, t0 = hogs.cpu_ticks(), busy_ticks(cpus), time.monotonic()
        # A slice is set in the child before exec, so the probe has it from its first wake-up.
        proc = subprocess.Popen(
            [str(probe), str(seconds)] + (["fifo"] if fifo else []),
            stdout=subprocess.PIPE,
            text=True,
            preexec_fn=(lambda: slices.set_slice(0, slice_ns)) if slice_ns else None,  # noqa: PLW1509
        )
        out, _ = proc.communicate()
        elapsed = time.monotonic() - t0
        meddled = changed(applied, hogs.pids) + [
            w for w in [self_demoted(SHIELD_NICE if shielded else 0)] if w
        ]
        if proc.returncode != 0 or meddled:
            # The FIFO probe is refused once someone moved us into a cgroup without RT time.
            print(f"    dropped: {'; '.join(meddled) or 'the probe failed'}", file=sys.stderr)
            return None
        result: dict[str, float] = json.loads(out)
        hog_ticks = hogs.cpu_ticks() - before
        probe_ticks = result["samples"] * 0.5e-3 * hz  # its own 0.5 ms of work per wake-up
        foreign = busy_ticks(cpus) - busy0 - hog_ticks - probe_ticks
        result["hog_cpu_pct"] = 100.0 * hog_ticks / hz / elapsed
        result["foreign_pct"] = max(0.0, 100.0 * foreign / hz / elapsed / len(cpus))
        result["fg_share_pct"] = foreground_share(hog, cpus) if share else 0.0
        return result
    finally:
        act = getattr(hogs, "actuator", None)
        if act is not None:
            act.restore_all()
            act.close()
        hogs.stop()
        CgroupV1Backend(CG_MOUNT, prefix="smoothdesk-bench").close(clean=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--reps", type=int, default=3, help="interleaved repeats; medians are reported")
    ap.add_argument("--json", type=Path, help="also write the raw figures here")
    ap.add_argument("--only", help="run only variants whose name contains one of these (comma-separated)")
    ap.add_argument("--pin", type=int, metavar="CPU", help="run everything on this one CPU")
    ap.add_argument(
        "--max-foreign",
        type=float,
        default=10.0,
        help="drop runs where other load used more than this %% of the CPUs (unless too few remain)",
    )
    ap.add_argument(
        "--io", type=Path, metavar="DIR", help="only run the IO progress check on the disk of DIR"
    )
    ap.add_argument("--shield", action="store_true", help="all bench sessions at autogroup nice -20")
    ap.add_argument("--slices", action="store_true", help="only the probe-slice sweep (levers_tables.py)")
    ap.add_argument("--done-limit", type=float, default=1.25, help="--slices: max done p99 / base slice's")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("bench_levers needs root (SCHED_FIFO, cgroups, autogroup)", file=sys.stderr)
        return 2
    if args.pin is not None:
        # Inherited by every hog, probe and foreground spinner: wake-up preemption on one CPU,
        # free of load-balancing effects.
        os.sched_setaffinity(0, {args.pin})
    if args.io:
        print("| low reader ioprio | low reads/s | each other reader reads/s | scheduler |")
        print("|---|---:|---:|---|")
        for r in io_progress(args.io, args.seconds):
            print(
                f"| {r['low reader ioprio']} | {r['low reads/s']:.0f} | "
                f"{r['each other reader reads/s']:.0f} | {r['scheduler']} |"
            )
        return 0
    tmp = Path(tempfile.mkdtemp(prefix="sd-bench-"))
    own_nice = None
    if args.shield:
        exempt_from_other_helpers()  # inherited by the probe, gcc and everything else we start
        own_nice = shield(os.getpid())
    table = (
        slice_variants(tmp / "run", actuator_class)
        if args.slices
        else [(*v, 0) for v in variants(tmp / "run")]
    )
    plan = [
        (topo, separate, name, apply, fifo, slice_ns)
        for topo, separate in (("same session", False), ("other session", True))
        for name, apply, fifo, only_sep, slice_ns in table
        if not (only_sep and not separate)
        and not (args.only and not any(o in name for o in args.only.split(",")))
        and not (separate and name == NO_HOGS)
    ]
    runs: dict[tuple[str, str], list[dict[str, float]]] = {}
    try:
        probe, hog = build(tmp)
        for rep in range(args.reps):
            for topo, separate, name, apply, fifo, slice_ns in plan:
                r = run_variant(
                    probe,
                    hog,
                    apply,
                    separate=separate,
                    fifo=fifo,
                    seconds=args.seconds,
                    hogs_count=0 if name == NO_HOGS else HOGS,
                    slice_ns=slice_ns,
                    share=not args.slices,
                    shielded=args.shield,
                )
                if r is None:
                    continue
                runs.setdefault((topo, name), []).append(r)
                print(
                    f"  rep {rep + 1} {topo:13} {name:38} p99={r['p99']:>7.0f} us "
                    f"done p99={r['done_p99']:>7.0f} us "
                    f"fg={r['fg_share_pct']:3.0f}% foreign={r['foreign_pct']:3.0f}%",
                    file=sys.stderr,
                )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if own_nice is not None:
            sc.write_autogroup_nice(os.getpid(), own_nice, PROC)
    rows: list[dict[str, object]] = []
    for (topo, name), every in runs.items():
        # Other people's load on a shared machine is noise: keep the quiet runs when there are 2+.
        quiet = [r for r in every if r["foreign_pct"] <= args.max_foreign]
        rs = quiet if len(quiet) >= 2 else every
        row: dict[str, object] = {"topology": topo, "variant": name, "runs": f"{len(rs)}/{len(every)}"}
        for k in (*FIGURES, "hog_cpu_pct", "fg_share_pct", "foreign_pct"):
            row[k] = statistics.median(float(r[k]) for r in rs)
        row["late_pct"] = 100.0 * sum(r["over_1ms"] for r in rs) / sum(r["samples"] for r in rs)
        row["p99_runs"] = [r["p99"] for r in rs]
        rows.append(row)
    if args.slices:
        print_slice_table(rows, args.done_limit)
    else:
        print_table(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
