"""smoothdesk-helper: the daemon that owns every change to the system.

Started from a demoted process, the helper runs at that process's share of the CPU until it has
reset itself (actuator.selfreset), so this module imports only what the interpreter already has
loaded: a SIGTERM before main() has taken it would end the helper with the journal unrestored
(measured: importing argparse, logging and smoothdesk.core here was 40 of the 55 ms before
main(); the rest is the interpreter's own start). main() takes the signals, then leaves our
cgroups and resets its nice and policy with os calls alone, and only then parses its arguments
and loads the daemon's ~0.4 s of modules (bench/bench_startup.py: with the whole actuator package
loaded before the reset, a helper born demoted beside 8 demoted hogs took 10-58 s to reset).
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows the name)
if TYPE_CHECKING:
    import argparse
    from typing import Any

    from smoothdesk.actuator.selfreset import CleanStart
    from smoothdesk.helper.daemon import Daemon


class StartupSignals:
    """SIGTERM and SIGINT from main()'s first line until the loop takes them over: remembered,
    so a stop during start-up still restores the journal (the loop stops at once, see loop.run).
    A SIGHUP then is moot: the config is being read fresh."""

    def __init__(self) -> None:
        self.stop_requested = False
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._stop)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        # A launcher that blocked them across exec (the only way to cover the interpreter's own
        # start) gets them delivered here, now that they are taken.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT, signal.SIGHUP})

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        self.stop_requested = True


def _cpu_clean() -> CleanStart:
    """Out of our cgroups, each thread's nice and policy back to neutral: the CPU share first."""
    from smoothdesk.actuator.selfreset import cpu_clean

    return cpu_clean()


def _start_clean(args: argparse.Namespace, clean: CleanStart) -> None:
    """The rest of the clean start (ioprio, a journaled autogroup; not for --recover), then what
    the whole of it changed and kept."""
    import logging

    from smoothdesk.actuator.selfreset import finish_clean
    from smoothdesk.config.errors import ConfigError
    from smoothdesk.config.paths import run_dir

    log = logging.getLogger("smoothdesk.helper")
    if not args.recover:
        try:
            where = args.run_dir or run_dir(args.user or os.geteuid() != 0)
        except ConfigError as exc:
            where = None  # the Daemon reports a bad run directory; the session's autogroup stays
            log.debug("no journal to check the autogroup against: %s", exc)
        finish_clean(clean, where, autogroup=not (args.dry_run or args.once))
    if clean.changed:
        log.warning("started with a demotion of SmoothDesk's; reset: %s", "; ".join(clean.changed))
    for kept in clean.kept:
        log.warning("started demoted, left as is: %s", kept)


def _yield_to_apps() -> None:
    """SCHED_IDLE from here on where the helper is alone in its CPU group, SCHED_BATCH elsewhere,
    for this thread and every one it starts: a helper busy with a tick or an exec event must not
    keep the person's app waiting.

    Traced beside a compile storm in the app's own session (bench_realload, topology a), every
    wake-up of the app's waker that came later than 0.5 ms had waited behind a SCHED_BATCH helper
    (its ticks run 3-4 ms, its exec events 1-2 ms): a batch task that runs keeps the CPU until its
    slice is protected no longer, and the waker waited for the next 4 ms tick. A SCHED_IDLE task is
    preempted at once by any waking task that is not idle. Its CPU share does not fall with it where
    the helper competes through a group of its own: a group's weight at the root does not depend
    on the weight of the one task in it. That holds in the autogroup of a session it leads (it holds
    only the helper and what the helper starts) with the cpu cgroup at the root, or in a cpu cgroup
    of its own (a systemd unit's). Sharing a group with other tasks, a SCHED_IDLE helper would
    starve behind them, so there it stays a batch task, which keeps nice 0's weight. Leaving
    SCHED_IDLE needs privilege (its children are set back: telemetry.probe), so user mode stays batch.
    """
    from smoothdesk.actuator.alone import alone_in_cpu_group
    from smoothdesk.actuator.slices import base_slice_ns

    base_slice_ns()  # measured now: a SCHED_IDLE thread has no slice to measure
    policy = os.SCHED_IDLE if os.geteuid() == 0 and alone_in_cpu_group() else os.SCHED_BATCH
    try:
        os.sched_setscheduler(0, policy, os.sched_param(0))
    except OSError:
        return  # a seccomp'd or odd kernel: the helper runs as SCHED_OTHER, as before


def build_parser() -> argparse.ArgumentParser:
    import argparse

    from smoothdesk import __version__

    p = argparse.ArgumentParser(
        prog="smoothdesk-helper",
        description="Keep the desktop responsive: classify applications and demote the hogs.",
    )
    p.add_argument(
        "--bus",
        default="none",
        help="system, session, none (no D-Bus service) or a D-Bus address (default: none)",
    )
    p.add_argument("--dry-run", action="store_true", help="decide and log, change nothing")
    p.add_argument(
        "--user",
        action="store_true",
        help="user mode even as root: only this uid's processes, only ever lowered",
    )
    p.add_argument("--once", action="store_true", help="run one tick, print decisions, exit")
    p.add_argument("--json", action="store_true", help="with --once: print JSON")
    p.add_argument(
        "--recover",
        action="store_true",
        help="only restore what a journal left in the run directory records (a killed helper's "
        "changes), then exit: no bus, no tick; run it only when no helper runs (the unit's ExecStopPost)",
    )
    p.add_argument("--config", type=Path, help="extra config file, applied last")
    p.add_argument("--tick", type=float, help="seconds between ticks (default from config: 1)")
    p.add_argument("--run-dir", type=Path, help="where the journal lives (default /run/smoothdesk)")
    p.add_argument(
        "--state-dir",
        type=Path,
        help="where the snapshot log lives (default /var/lib/smoothdesk, or ~/.local/state/smoothdesk)",
    )
    p.add_argument(
        "--rules-write-path",
        type=Path,
        help="file AddRule/DeleteRule write (default /etc/smoothdesk/rules.d/90-dbus.toml as root)",
    )
    p.add_argument("--ananicy-root", type=Path, help="one more directory ImportAnanicy may read under")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return p


def _setup_logging(verbose: bool) -> None:
    import logging

    # Under systemd, journald adds its own timestamps and reads <N> priority prefixes.
    if os.environ.get("JOURNAL_STREAM"):
        fmt = "%(message)s"
    else:
        fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format=fmt)


def _once(daemon: Daemon, as_json: bool) -> int:
    import json

    # CPU shares need two samples; take them half a tick apart.
    daemon.warm_up(time.monotonic())
    time.sleep(min(daemon.status().tick_seconds, 0.5))
    decisions = daemon.tick()
    rows: list[dict[str, Any]] = []
    status = daemon.status()
    procs = status.processes
    for gid, group in sorted(status.groups.items()):
        d = decisions[gid]
        rows.append(
            {
                "id": gid,
                "name": group.name,
                "class": d.klass.value,
                "summary": d.summary,
                "managed": d.manage,
                "reasons": [str(r) for r in d.reasons],
                "cpu": round(sum(procs[p].cpu_tick for p in group.members if p in procs), 1),
                "pids": list(group.members),
            }
        )
    if as_json:
        json.dump({"decisions": rows, "dry_run": status.dry_run}, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        for r in rows:
            print(f"{r['summary']:<12} {r['name'][:28]:<28} {r['cpu']:>6.1f}%  {'; '.join(r['reasons'])}")
    return 0


def _recover(args: argparse.Namespace) -> int:
    """Restore from the journal a killed helper left (a SIGTERM during the interpreter's start, a
    SIGKILL), with the cgroup lever the config names, as the daemon would."""
    import logging

    from smoothdesk.actuator.cgroup_choice import backend_for
    from smoothdesk.actuator.journal import JOURNAL_NAME
    from smoothdesk.actuator.recovery import recover
    from smoothdesk.collector.cgroups import probe_layout
    from smoothdesk.config.loader import load_settings
    from smoothdesk.config.paths import config_files, run_dir
    from smoothdesk.core.errors import SmoothDeskError
    from smoothdesk.helper.settings import HelperSettings

    user_mode = args.user or os.geteuid() != 0
    try:
        where = args.run_dir or run_dir(user_mode)
        if not (where / JOURNAL_NAME).exists():
            logging.getLogger("smoothdesk.helper").info("recover: no journal in %s, nothing to do", where)
            return 0
        settings = load_settings(config_files(user_mode), args.config)
        backend = backend_for(
            HelperSettings.from_settings(settings).cgroup, probe_layout(), user_mode=user_mode
        )
        report = recover(where, cgroup_backend=backend)
    except (SmoothDeskError, OSError) as exc:
        print(f"smoothdesk-helper: --recover: {exc}", file=sys.stderr)
        return 1
    logging.getLogger("smoothdesk.helper").info(
        "recover: restored %d changes from %s (%d could not be undone)",
        report.restored, where, report.irreversible,
    )  # fmt: skip
    return 0


def main(argv: list[str] | None = None) -> int:
    signals = StartupSignals()
    clean = _cpu_clean()
    args = build_parser().parse_args(argv)
    _setup_logging(args.verbose)
    _start_clean(args, clean)
    if args.recover:
        return _recover(args)
    _yield_to_apps()
    if args.tick is not None and not 0.05 <= args.tick <= 60:
        print("smoothdesk-helper: --tick must be between 0.05 and 60 seconds", file=sys.stderr)
        return 2
    from smoothdesk.core.errors import SmoothDeskError
    from smoothdesk.helper.options import Options
    from smoothdesk.helper.wiring import build

    # --once only reports: it must never leave a change behind.
    options = Options(
        bus=args.bus,
        dry_run=args.dry_run or args.once,
        config=args.config,
        tick=args.tick,
        run_dir=args.run_dir,
        state_dir=args.state_dir,
        user=args.user,
        rules_write_path=args.rules_write_path,
        ananicy_extra_root=args.ananicy_root,
    )
    try:
        helper = build(options)
        if args.once:
            return _once(helper.daemon, args.json)
        import asyncio

        from smoothdesk.helper.loop import run

        return asyncio.run(run(helper, lambda: signals.stop_requested))
    except SmoothDeskError as exc:
        print(f"smoothdesk-helper: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
