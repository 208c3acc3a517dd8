"""Machine facts for `smoothdeskctl doctor`: what works here and what it means for SmoothDesk."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from smoothdesk.collector.cgroups import probe_layout
from smoothdesk.collector.devices import block_devices
from smoothdesk.collector.errors import CollectorError
from smoothdesk.collector.fileio import read_text_quiet
from smoothdesk.collector.netlink import ProcConnector

OK, WARN, MISSING, INFO = "ok", "warn", "missing", "info"
POLKITD_PATHS = ("usr/lib/polkit-1/polkitd", "usr/libexec/polkitd", "usr/lib/polkit/polkitd")


@dataclass(frozen=True)
class Finding:
    """One fact: `status` is "ok", "warn", "missing" or "info"; `meaning` is what it
    implies for SmoothDesk."""

    key: str
    status: str
    summary: str
    meaning: str


def probe(root: Path = Path("/")) -> list[Finding]:
    """Every finding about the machine under root (a fake tree in tests)."""
    findings = [probe_autogroup(root), probe_sched_ext(root), probe_slices(root), probe_timer_slack(root)]
    findings += probe_cgroups(root)
    findings += probe_io_schedulers(root)
    findings += [
        probe_psi(root),
        probe_evdev(root),
        probe_polkit(root),
        probe_systemd(root),
        probe_netlink(root),
    ]
    return findings


def probe_autogroup(root: Path) -> Finding:
    value = (read_text_quiet(f"{root}/proc/sys/kernel/sched_autogroup_enabled") or "").strip()
    if value == "1":
        return Finding(
            "autogroup",
            INFO,
            "autogroup scheduling is on (kernel.sched_autogroup_enabled=1)",
            "nice alone only ranks processes inside one session: a hog in another session at "
            "nice 19 still gets an equal share. SmoothDesk also sets the autogroup nice "
            "(/proc/PID/autogroup) and cgroup weights, which do work across sessions.",
        )
    if value == "0":
        return Finding(
            "autogroup",
            OK,
            "autogroup scheduling is off",
            "nice ranks every process against every other; SmoothDesk's nice changes apply machine-wide.",
        )
    return Finding(
        "autogroup",
        OK,
        "the kernel has no autogroup support",
        "nice ranks every process against every other; there is no autogroup nice to set.",
    )


def probe_sched_ext(root: Path) -> Finding:
    base = f"{root}/sys/kernel/sched_ext"
    state = read_text_quiet(f"{base}/state")
    if state is None:
        return Finding(
            "sched_ext",
            OK,
            "no sched_ext support (the built-in scheduler runs)",
            "nice, autogroup nice and cgroup weights are honoured by the kernel scheduler.",
        )
    ops = (read_text_quiet(f"{base}/root/ops") or "").strip()
    if state.strip() == "enabled" or ops:
        return Finding(
            "sched_ext",
            WARN,
            f"a BPF scheduler is active: {ops or 'unknown'}",
            "sched_ext schedulers may ignore nice and weights: SmoothDesk's CPU priority "
            "changes can have no effect while it runs.",
        )
    return Finding(
        "sched_ext",
        OK,
        f"sched_ext is available but {state.strip() or 'not'} enabled",
        "the built-in scheduler runs and honours nice and weights; this changes if a BPF "
        "scheduler is loaded.",
    )


def probe_slices(root: Path) -> Finding:
    """Whether the kernel honours EEVDF custom slices: set one on our thread, read it back, undo it."""
    if root != Path("/"):
        return Finding("slices", INFO, "not probed (fake root)", "custom slices are probed only live.")
    # Imported here: the collector is read by unprivileged tools, and the actuator package pulls
    # in the systemd backend's D-Bus stack.
    from smoothdesk.actuator.slices import probe_support

    support = probe_support()
    if not support.honoured:
        return Finding(
            "slices",
            WARN,
            f"the kernel does not honour EEVDF custom slices: {support.detail}",
            "the focused and critical classes get no shorter slice (it needs Linux 6.12 or "
            "later with EEVDF); demoting the load still works.",
        )
    scx = (read_text_quiet(f"{root}/sys/kernel/sched_ext/state") or "").strip() == "enabled"
    return Finding(
        "slices",
        WARN if scx else OK,
        f"EEVDF custom slices are honoured ({support.detail})",
        (
            "a BPF scheduler is active and may ignore them."
            if scx
            else "the focused and critical classes get a shorter slice, so they preempt the load "
            "sooner at wake-up without taking CPU share from anyone."
        ),
    )


def probe_timer_slack(root: Path) -> Finding:
    """Whether a thread's timer slack can be read and set from outside (/proc/PID/timerslack_ns)."""
    value = (read_text_quiet(f"{root}/proc/self/timerslack_ns") or "").strip()
    if not value.isdigit():
        return Finding(
            "timer_slack",
            MISSING,
            "no /proc/PID/timerslack_ns (it needs Linux 4.6 or later)",
            "the focused and critical classes keep their default timer slack: their timers may "
            "fire that much late, where a realtime task's fire on time.",
        )
    return Finding(
        "timer_slack",
        OK,
        f"timer slack can be set per thread (this process's: {int(value) // 1000} us)",
        "the focused and critical classes get a 1 us timer slack (root mode), so their timers "
        "fire as punctually as a realtime task's.",
    )


def probe_cgroups(root: Path) -> list[Finding]:
    sys_root = root / "sys"
    layout = probe_layout(sys_root)
    mode, v1, v2 = layout.mode, layout.v1_controllers, layout.v2_controllers
    has_idle = (sys_root / "fs" / "cgroup" / "cpu" / "cpu.idle").exists()
    listing = f"v1: {', '.join(v1) or 'none'}; v2: {', '.join(v2) or 'none'}"
    if mode == "v2":
        good = {"cpu", "io"} <= set(v2)
        main = Finding(
            "cgroup",
            OK if good else WARN,
            f"cgroup v2 (unified); controllers {', '.join(v2) or 'none'}",
            "per-application cpu.weight/cpu.idle and io.weight go through systemd unit "
            "properties (or cgroupfs without systemd)."
            if good
            else "the cpu or io controller is not enabled at the root: SmoothDesk falls back "
            "to nice, autogroup nice and ionice for what is missing.",
        )
        idle = Finding(
            "cgroup.cpu_idle",
            OK if "cpu" in v2 else MISSING,
            "cpu.idle available in v2 cgroups" if "cpu" in v2 else "no cpu controller",
            "the idle class can use cpu.idle=1 (runs only when nothing else wants the CPU)."
            if "cpu" in v2
            else "the idle class has to rely on SCHED_IDLE and nice 19.",
        )
        return [main, idle]
    if mode == "none":
        return [
            Finding(
                "cgroup",
                MISSING,
                "no cgroup hierarchy is mounted",
                "no per-application weights: SmoothDesk uses nice, autogroup nice and ionice.",
            )
        ]
    hybrid = mode == "hybrid"
    main = Finding(
        "cgroup",
        INFO if "cpu" in v1 else WARN,
        f"cgroup {'hybrid (v1 controllers, v2 at fs/cgroup/unified)' if hybrid else 'v1'}; " + listing,
        "CPU weights use the v1 cpu controller (cpu.shares); systemd-style v2 properties "
        "(cpu.weight, io.weight) are not available."
        if "cpu" in v1
        else "no cpu controller: SmoothDesk uses nice, autogroup nice and ionice only.",
    )
    idle = Finding(
        "cgroup.cpu_idle",
        OK if has_idle else MISSING,
        "cpu.idle exists in the v1 cpu hierarchy" if has_idle else "no v1 cpu.idle file",
        "the idle class can set cpu.idle=1 on its v1 cgroup."
        if has_idle
        else "the idle class has to rely on low cpu.shares, SCHED_IDLE and nice 19.",
    )
    return [main, idle]


def probe_io_schedulers(root: Path) -> list[Finding]:
    disks = block_devices(root / "sys")
    if not disks:
        return [Finding("io_scheduler", INFO, "no block devices found", "ionice has no effect.")]
    findings = []
    for name, scheduler in disks.items():
        key = f"io_scheduler.{name}"
        if scheduler == "bfq":
            findings.append(Finding(key, OK, f"{name}: bfq", "ionice classes and levels both matter here."))
        elif scheduler == "mq-deadline":
            findings.append(
                Finding(
                    key,
                    OK,
                    f"{name}: mq-deadline",
                    "ionice classes (realtime, best-effort, idle) matter here; levels within a class do not.",
                )
            )
        elif scheduler:
            findings.append(
                Finding(
                    key,
                    WARN,
                    f"{name}: {scheduler}",
                    f"{scheduler} ignores IO priorities: ionice has no effect on this disk "
                    "(bfq or mq-deadline would honour it).",
                )
            )
        else:
            findings.append(
                Finding(
                    key,
                    INFO,
                    f"{name}: no IO scheduler (bio-based device)",
                    "ionice does not apply to this device.",
                )
            )
    return findings


def probe_psi(root: Path) -> Finding:
    present = [
        res for res in ("cpu", "io", "memory") if read_text_quiet(f"{root}/proc/pressure/{res}") is not None
    ]
    if len(present) == 3:
        return Finding(
            "psi",
            OK,
            "pressure stall information is available (cpu, io, memory)",
            "responsiveness and alerts are judged from PSI stall times.",
        )
    if present:
        return Finding(
            "psi",
            WARN,
            f"pressure stall information only for {', '.join(present)}",
            "the missing resources are judged from load and utilisation instead.",
        )
    return Finding(
        "psi",
        MISSING,
        "no pressure stall information (/proc/pressure missing or psi=0)",
        "responsiveness is estimated from CPU load and IO wait, which is less precise.",
    )


def probe_evdev(root: Path) -> Finding:
    devices = sorted(str(p) for p in (root / "dev" / "input").glob("event*"))
    if not devices:
        return Finding(
            "evdev",
            MISSING,
            "no input devices under /dev/input",
            "no input-activity signal: the focused application comes from the session "
            "agent's focus reports only.",
        )
    readable = [d for d in devices if os.access(d, os.R_OK)]
    if not readable:
        return Finding(
            "evdev",
            WARN,
            f"{len(devices)} input devices, none readable by this user",
            "input activity needs root or the input group; without it focus reports only.",
        )
    return Finding(
        "evdev",
        OK,
        f"{len(readable)} of {len(devices)} input devices readable",
        "input activity marks the focused application as in use.",
    )


def probe_polkit(root: Path) -> Finding:
    binary = next((p for p in POLKITD_PATHS if (root / p).is_file()), None)
    actions = (root / "usr" / "share" / "polkit-1" / "actions").is_dir()
    if binary and actions:
        return Finding(
            "polkit",
            OK,
            f"polkitd at /{binary}; actions directory present",
            "changes requested over D-Bus are authorized per action (own session, admin).",
        )
    missing = [] if binary else ["polkitd"]
    missing += [] if actions else ["/usr/share/polkit-1/actions"]
    return Finding(
        "polkit",
        MISSING,
        f"missing: {', '.join(missing)}",
        "mutating D-Bus calls cannot be authorized, so the helper refuses them (it fails "
        "closed); reads still work.",
    )


def probe_systemd(root: Path) -> Finding:
    if (root / "run" / "systemd" / "system").is_dir():
        return Finding(
            "systemd",
            OK,
            "systemd is PID 1 and manages cgroups",
            "per-application weights go through systemd unit properties on app scopes, "
            "never through a private cgroup tree.",
        )
    return Finding(
        "systemd",
        INFO,
        "systemd is not running as PID 1",
        "applications are grouped by process tree; cgroup weights, if any, are written to cgroupfs directly.",
    )


def probe_netlink(root: Path) -> Finding:
    if root != Path("/"):
        return Finding("netlink", INFO, "not probed (fake root)", "the proc connector is probed only live.")
    connector = ProcConnector()
    try:
        connector.open()
    except CollectorError as exc:
        return Finding(
            "netlink",
            WARN,
            f"proc connector unavailable: {exc}",
            "new processes are found by listing /proc every few seconds instead of at fork "
            "and exec (run the helper as root to get events).",
        )
    connector.close()
    return Finding(
        "netlink",
        OK,
        "proc connector events are available",
        "new processes are classified at fork and exec, without polling /proc.",
    )
