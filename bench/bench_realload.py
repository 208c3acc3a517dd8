"""Responsiveness under a real compile storm, in three topologies, four modes side by side.

Load: `make -jN` running the real `gcc -O2` (cc1, then as) on generated C units (bench/storm.py),
rebuilt in a loop for the whole measurement. Measures, run by the measured app as its children
(bench/realload_app.py): rt-tests' cyclictest (SCHED_OTHER, 4 ms), the waker of bench/probe.c
(0.5 ms of CPU work every 4 ms: wake p99 and completion p99) and an app launch (a fresh python3
importing json, email, http.client and sqlite3; compared with the launch on an idle machine).

Topologies:
  a  child    the storm is the measured app's child: same session and process group
  b  unit     the storm (own session) and the app share one app unit (faked: realload_topology.py)
  c  session  the storm runs in its own session (setsid), like a job in another terminal
Modes: unmanaged; `nice -n19` on the storm; SmoothDesk (a real smoothdesk-helper as root,
default config) twice: without a bus ("smoothdesk": nothing reports a focus), and on a private
dbus-daemon with the measured app reported focused over it as the session agent would
("smoothdesk+focus": the app is INTERACTIVE, with its slice); the measured app at SCHED_FIFO 50.
Cells run interleaved (the mode order rotates per topology and repeat); figures are medians over
repeats. During every cell the CPU used by processes outside this bench (other agents) is
measured and printed as noise. Each helper tree is byte-compiled first, as an installed package
is (this environment sets PYTHONDONTWRITEBYTECODE: each helper would compile ~190 modules).

--shield (a shared machine): every session of the bench (the app, the storm's, the helper's) at
autogroup nice -20, in every mode alike, so that other users' load in other sessions takes little
from any of them and the cells measure the app against the storm, as on a desktop of one's own.
The weights between the bench's own sessions stay as at 0; SCHED_FIFO is unaffected either way.

Needs root. Usage: .venv/bin/python bench/bench_realload.py [--quick] [--strict] [--json out.json]
To measure a commit rather than a shared working tree that others edit:
    git archive C | tar -x -C /tmp/sd-C && git rev-parse C > /tmp/sd-C/COMMIT
    .venv/bin/python bench/bench_realload.py --helper-tree /tmp/sd-C
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import realload_measures as m
import storm
from interference import SHIELD_NICE, shield
from realload_focus import FocusReporter
from realload_helper import (
    FOCUS,
    PREFIX,
    compile_tree,
    foreign_helpers,
    helper_argv,
    helper_env,
    run_root,
    sd_modes,
    slice_us,
    tree_revision,
)
from realload_report import TOPOLOGIES, fmt, report
from realload_topology import Accounting, App, FakeUnit, describe, in_cgroup, is_neutral, levers

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
# How the storm looks when nothing but the mode itself has touched it.
UNTOUCHED = {"unmanaged": "nice 0 other ag-nice 0 cg /", "fifo": "nice 0 other ag-nice 0 cg /"}
UNTOUCHED["nice19"] = "nice 19 other ag-nice 0 cg /"
SHIELDED = {mode: text.replace("ag-nice 0", f"ag-nice {SHIELD_NICE}") for mode, text in UNTOUCHED.items()}
READY = b"running in root mode"


def touched_by_others(directory: Path, mode: str, shielded: bool = False) -> bool:
    """Whether something other than this mode changed the storm: without our helper any change;
    with it, a cpu cgroup outside ours (other agents' helpers use /smoothdesk or /sdcrash-N)."""
    for pid in storm.members(directory):
        state = levers(pid)
        if state is None:
            continue
        if mode in UNTOUCHED and describe(state) != (SHIELDED if shielded else UNTOUCHED)[mode]:
            return True
        if (
            mode not in UNTOUCHED
            and state["cgroup"] not in ("/", "?")
            and not state["cgroup"].startswith(f"/{PREFIX}/")
        ):
            return True
    return False


def storm_demoted(directory: Path, ag_nice: int = 0) -> bool:
    return any(
        (st := levers(pid)) is not None and not is_neutral(st, ag_nice) for pid in storm.members(directory)
    )


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="sd-realload-"))
        self.probe = self.tmp / "probe"
        subprocess.run(["gcc", "-O2", "-o", str(self.probe), str(HERE / "probe.c")], check=True)
        self.project = storm.write_project(self.tmp / "storm", args.units)
        self.account = Accounting()
        self.helpers: set[int] = set()
        self.quiet_left = args.quiet_wait
        self.retakes_left = 6
        self.trees = sd_modes(args.helper_tree, focus=not args.no_focus)
        for tree in set(self.trees.values()):
            compile_tree(tree)
        self.modes = ["unmanaged", "nice19", *self.trees, "fifo"]
        self.ag_nice = SHIELD_NICE if args.shield else 0  # the autogroup nice of an untouched process
        self.stack = contextlib.ExitStack()
        self.bus = "none"
        if any(mode.endswith(FOCUS) for mode in self.trees):
            from tests.support.bus import private_bus

            self.bus = self.stack.enter_context(private_bus())

    def close(self) -> None:
        storm.stop(self.project)
        self.account.close()
        self.stack.close()
        shutil.rmtree(self.tmp, ignore_errors=True)
        shutil.rmtree(run_root(self.tmp), ignore_errors=True)

    def unit_times(self) -> tuple[float, float]:
        """Wall seconds of cc1 (gcc -S) and of as for one unit, measured now."""
        src, asm = self.project / "u000.c", self.tmp / "u000.s"
        t0 = time.perf_counter()
        subprocess.run(["gcc", "-O2", "-S", "-o", str(asm), str(src)], check=True)
        t1 = time.perf_counter()
        subprocess.run(["as", "-o", str(self.tmp / "u000.o"), str(asm)], check=True)
        return t1 - t0, time.perf_counter() - t1

    def measure(self, app: App, fifo: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        ct = app.ask(op="run", argv=m.cyclictest_argv(self.args.seconds, fifo))
        if ct["rc"] == 0:
            fig = m.parse_cyclictest(ct["out"])
            out["ct_p99"], out["ct_max"] = fig["p99"], fig["max"]
        else:
            out["error"] = f"cyclictest rc {ct['rc']}: {(ct['err'] or ct['out']).strip()[:120]}"
        wk = app.ask(op="run", argv=m.waker_argv(self.probe, self.args.seconds, fifo))
        if wk["rc"] == 0:
            fig = m.parse_waker(wk["out"])
            out["wake_p99"], out["done_p99"] = fig["p99"], fig["done_p99"]
            out["waker_slice_us"] = fig.get("slice_us")
        else:
            out.setdefault("error", f"waker rc {wk['rc']}: {wk['err'].strip()[:120]}")
        runs = [app.ask(op="run", argv=m.launch_argv(fifo)) for _ in range(self.args.launches)]
        if all(r["rc"] == 0 for r in runs):
            out["launch_ms"] = m.median_launch_ms([r["seconds"] for r in runs])
        slack = Path(f"/proc/{app.pid}/timerslack_ns").read_text().strip()
        out["app"] = (
            f"{describe(levers(app.pid))}, slice {slice_us(app.pid)}, timer slack {slack} ns;"
            f" waker slice {out.get('waker_slice_us')}"
        )
        return out

    def idle(self) -> dict[str, Any]:
        waited = self.wait_quiet()
        app = App()
        if self.args.shield:
            shield(app.pid)
        try:
            self.account.start()
            out = self.measure(app, fifo=False)
        finally:
            app.close()
        out.update(topo="idle", mode="idle", noise=self.account.foreign_share(), waited_s=waited)
        return out

    def start_storm(
        self, topo: str, app: App, unit: FakeUnit | None, mode: str
    ) -> subprocess.Popen[bytes] | None:
        argv = storm.storm_argv(self.project, self.args.jobs, 19 if mode == "nice19" else None)
        if topo == "a":
            app.ask(op="spawn", argv=argv, cwd=str(self.project))
            return None
        procs = unit.procs if unit is not None else None
        shell = subprocess.Popen(in_cgroup(procs, argv), cwd=self.project, start_new_session=True)
        if self.args.shield:
            shield(shell.pid)
        return shell

    def warm_up(self) -> None:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            busy = [p for p in storm.members(self.project) if storm.comm(p) == "cc1"]
            if len(busy) >= min(self.args.jobs, self.args.units):
                break
            time.sleep(0.05)
        time.sleep(0.5)

    def start_helper(
        self, tree: Path, out: dict[str, Any], focus: FocusReporter | None, app: App
    ) -> subprocess.Popen[bytes]:
        """Start a helper and wait (<= 60 s) until it runs its tick loop and has demoted the storm;
        with `focus`, report the app focused as soon as the helper serves the bus."""
        t0 = time.monotonic()
        log = self.tmp / f"helper-{len(self.helpers)}.log"
        with log.open("ab") as f:
            helper = subprocess.Popen(
                helper_argv(self.tmp, self.bus if focus is not None else "none"),
                cwd=tree,
                env=helper_env(tree),
                stdout=f,
                stderr=f,
                start_new_session=True,
            )
        self.helpers.add(helper.pid)
        if self.args.shield:
            shield(helper.pid)
        if focus is not None:
            try:
                focus.report(app.pid)
            except Exception as exc:
                helper.kill()
                helper.wait()
                tail = log.read_text(errors="replace")[-800:]
                raise SystemExit(
                    f"could not report the app focused ({exc}); the helper's log:\n{tail}"
                ) from exc
            out["focus_after_s"] = time.monotonic() - t0
        demoted = ready = None
        while time.monotonic() - t0 < 60 and helper.poll() is None and (demoted is None or ready is None):
            if demoted is None and storm_demoted(self.project, self.ag_nice):
                demoted = time.monotonic() - t0
            if ready is None and READY in log.read_bytes():
                ready = time.monotonic() - t0
            time.sleep(0.05)
        if helper.poll() is not None:
            tail = log.read_text(errors="replace")[-800:]
            raise SystemExit(f"smoothdesk-helper exited with {helper.returncode} at start:\n{tail}")
        out["demoted_after_s"], out["ready_after_s"] = demoted, ready
        time.sleep(self.args.settle)
        return helper

    def stop_helper(self, helper: subprocess.Popen[bytes], app: App, out: dict[str, Any]) -> None:
        """SIGTERM (it restores), then count what it left changed: the app, and storm processes."""
        helper.terminate()
        try:
            helper.wait(timeout=30)
        except subprocess.TimeoutExpired:
            helper.kill()
            helper.wait()
            out.setdefault("error", "the helper did not stop within 30 s of SIGTERM")
        states = [levers(pid) for pid in [app.pid, *storm.members(self.project)]]
        out["left_changed"] = sum(1 for st in states if st is not None and not is_neutral(st, self.ag_nice))
        out["left_of"] = len(states)

    def wait_quiet(self) -> float:
        """Up to 10 s (within --quiet-wait in all) for other agents' load and helpers to go; waited s."""
        t0 = time.monotonic()
        limit = min(10.0, self.quiet_left)
        while time.monotonic() - t0 < limit:
            self.account.start()
            time.sleep(0.5)
            share = self.account.foreign_share()
            if share is None or share < 0.25:
                break
        waited = time.monotonic() - t0
        self.quiet_left -= waited
        return waited

    def clean_cell(self, topo: str, mode: str) -> dict[str, Any]:
        """A cell, taken again once if something else (another agent's helper) changed our storm."""
        waited = self.wait_quiet()
        out = self.cell(topo, mode)
        if out.get("touched") and self.retakes_left > 0:
            self.retakes_left -= 1
            waited += self.wait_quiet()
            out = self.cell(topo, mode)
        out["waited_s"] = waited
        return out

    def cell(self, topo: str, mode: str) -> dict[str, Any]:
        unit = FakeUnit() if topo == "b" else None
        app = App(unit.procs if unit else None)
        if self.args.shield:
            shield(app.pid)
        helper: subprocess.Popen[bytes] | None = None
        focus = FocusReporter(self.bus) if mode.endswith(FOCUS) else None
        shell = None
        out: dict[str, Any] = {"topo": topo, "mode": mode, "load1": os.getloadavg()[0]}
        try:
            shell = self.start_storm(topo, app, unit, mode)
            self.warm_up()
            if mode in self.trees:
                helper = self.start_helper(self.trees[mode], out, focus, app)
            foreign = foreign_helpers(self.helpers)
            self.account.start()
            cc1 = next((p for p in storm.members(self.project) if storm.comm(p) == "cc1"), None)
            out["storm"] = describe(levers(cc1)) if cc1 else "no cc1 seen"
            touched = touched_by_others(self.project, mode, self.args.shield)
            out.update(self.measure(app, fifo=mode == "fifo"))
            out["touched"] = touched or touched_by_others(self.project, mode, self.args.shield)
            out["noise"] = self.account.foreign_share()
            out["foreign_helpers"] = sorted(set(foreign) | set(foreign_helpers(self.helpers)))
            if helper is not None and helper.poll() is not None:
                out["error"] = f"the helper exited (rc {helper.returncode}) during the measures"
        finally:
            if focus is not None:
                focus.close()
            if helper is not None:
                self.stop_helper(helper, app, out)
            storm.stop(self.project)
            if shell is not None:
                shell.wait()
            app.close()
            if unit is not None:
                unit.close()
        return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="one repeat, shorter measures (about 1 minute)")
    p.add_argument("--reps", type=int, help="repeats of every cell (default 2, 1 with --quick)")
    p.add_argument("--seconds", type=float, help="seconds per cyclictest and waker run (default 3, 1.5)")
    p.add_argument("--launches", type=int, help="launches per cell, median taken (default 5, 3)")
    p.add_argument("--jobs", type=int, default=8, help="make -jN (default 8)")
    p.add_argument("--units", type=int, default=48, help="C units in the storm's project (default 48)")
    p.add_argument("--settle", type=float, default=1.0, help="seconds after the helper's first demotion")
    p.add_argument("--topologies", default="abc", help="subset of a, b, c (default abc)")
    p.add_argument("--tolerance", type=float, default=0.1, help="noise allowance for never-worse (0.1)")
    p.add_argument("--quiet-wait", type=float, help="s to wait in all for other load to drop (30, 5)")
    p.add_argument(
        "--helper-tree",
        type=Path,
        action="append",
        help="source tree to run the helper from (default this repo); twice or more: one mode each",
    )
    p.add_argument(
        "--no-focus", action="store_true", help="leave out the +focus modes (helper on a private bus)"
    )
    p.add_argument("--shield", action="store_true", help="every bench session at autogroup nice -20")
    p.add_argument("--strict", action="store_true", help="exit 1 when a limit fails")
    p.add_argument("--json", type=Path, help="write every cell's figures here")
    args = p.parse_args(argv)
    quick = args.quick
    args.reps = args.reps or (1 if quick else 2)
    args.seconds = args.seconds or (1.5 if quick else 3.0)
    args.launches = args.launches or (3 if quick else 5)
    args.quiet_wait = args.quiet_wait if args.quiet_wait is not None else (5.0 if quick else 30.0)
    args.helper_tree = [t.resolve() for t in args.helper_tree or [REPO]]
    if not set(args.topologies) <= set(TOPOLOGIES):
        p.error(f"--topologies: {args.topologies!r} has letters other than a, b, c")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if os.geteuid() != 0:
        sys.exit("bench_realload needs root (SCHED_FIFO, the helper's levers, cgroups)")
    missing = [t for t in ("cyclictest", "make", "gcc", "as", "chrt", "python3") if not shutil.which(t)]
    if missing:
        sys.exit(f"bench_realload needs {', '.join(missing)} (cyclictest: apt-get install rt-tests)")
    started = time.monotonic()
    bench = Bench(args)
    cells: list[dict[str, Any]] = []
    try:
        for mode, tree in bench.trees.items():
            print(f"{mode}: helper from {tree} ({tree_revision(tree)})")
        if args.shield:
            print("--shield: every session of the bench at autogroup nice -20")
        cc1_s, as_s = bench.unit_times()
        print(
            f"storm: make -j{args.jobs} over {args.units} units; one unit: cc1 {cc1_s:.2f} s, as {as_s:.3f} s"
            f" (wall, load {os.getloadavg()[0]:.2f})"
        )
        for rep in range(args.reps):
            cells.append(bench.idle())
            for ti, topo in enumerate(args.topologies):
                shift = rep + ti
                n = len(bench.modes)
                for mode in bench.modes[shift % n :] + bench.modes[: shift % n]:
                    c = bench.clean_cell(topo, mode)
                    cells.append(c)
                    if args.json:  # as it goes: a run that dies still leaves its figures
                        args.json.write_text(json.dumps(cells, indent=1))
                    print(
                        f"  rep {rep + 1} {topo} {mode:<16} ct p99 {fmt(c.get('ct_p99'), 6)}  wake p99 "
                        f"{fmt(c.get('wake_p99'), 6)}  done p99 {fmt(c.get('done_p99'), 6)}  launch "
                        f"{fmt(c.get('launch_ms'), 4)} ms  noise {(c.get('noise') or 0) * 100:.0f}%"
                        f"{'  ' + c['error'] if 'error' in c else ''}",
                        flush=True,
                    )
    finally:
        bench.close()
    ok = report(cells, args.reps, args.tolerance, list(bench.trees))
    print(f"waited {sum(c.get('waited_s', 0) for c in cells):.0f} s in all for other agents' load to drop")
    print(f"\nwall time {time.monotonic() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(cells, indent=1))
    return 1 if args.strict and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
