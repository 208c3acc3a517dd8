"""The applications of the synthetic desktop trace: what each is, and its processes at one tick."""

from __future__ import annotations

import random
from dataclasses import dataclass

from smoothdesk.core import AppGroup, Classification, ProcessRecord
from smoothdesk.policy.rule_types import BUILTIN_TYPES

MIB = 2**20


@dataclass(frozen=True, slots=True)
class AppSpec:
    """One application: identity, classifier type, and its usual load (CPU % of one core)."""

    key: str
    name: str
    unit: str | None  # a systemd unit groups it; None groups it by process tree
    rule_type: str
    procs: int
    threads: int
    rss_mib: float
    idle_cpu: float
    active_cpu: float  # when focused (or, for a daemon, when busy)
    uid: int = 1000
    tty: bool = False
    focusable: bool = True


APPS: tuple[AppSpec, ...] = (
    AppSpec("editor", "code", "app-gnome-code-4821.scope", "editor", 6, 80, 900, 1.0, 12.0),
    AppSpec("browser", "firefox", "app-gnome-firefox-2210.scope", "browser", 9, 210, 1700, 3.0, 25.0),
    AppSpec("terminal", "gnome-terminal", None, "terminal", 2, 6, 60, 0.2, 3.0, tty=True),
    AppSpec("chat", "slack", "app-gnome-slack-3310.scope", "chat", 5, 60, 600, 1.5, 8.0),
    AppSpec("mail", "thunderbird", "app-gnome-thunderbird-2978.scope", "", 2, 70, 450, 0.5, 6.0),
    AppSpec("music", "spotify", "app-gnome-spotify-3952.scope", "Player-Audio", 4, 40, 350, 0.3, 4.0),
    AppSpec("files", "nautilus", "app-gnome-org.gnome.Nautilus-5102.scope", "", 1, 8, 120, 0.1, 5.0),
    AppSpec("docs", "evince", "app-gnome-org.gnome.Evince-5540.scope", "Doc-View", 1, 6, 150, 0.0, 4.0),
    AppSpec(
        "shell",
        "gnome-shell",
        "org.gnome.Shell@wayland.service",
        "compositor",
        1,
        20,
        400,
        4.0,
        9.0,
        focusable=False,
    ),
    AppSpec("pipewire", "pipewire", "pipewire.service", "audio", 2, 6, 30, 0.2, 2.0, focusable=False),
    AppSpec(
        "indexer",
        "tracker-miner-fs-3",
        "tracker-miner-fs-3.service",
        "indexer",
        1,
        5,
        90,
        0.0,
        60.0,
        focusable=False,
    ),
    AppSpec("backup", "restic", "restic-backup.service", "backup", 1, 8, 200, 0.0, 85.0, focusable=False),
    AppSpec(
        "updater",
        "packagekitd",
        "packagekit.service",
        "updater",
        1,
        4,
        110,
        0.0,
        30.0,
        uid=0,
        focusable=False,
    ),
    AppSpec(
        "keys",
        "gsd-media-keys",
        "org.gnome.SettingsDaemon.MediaKeys.service",
        "Service",
        1,
        4,
        25,
        0.0,
        0.5,
        focusable=False,
    ),
    AppSpec(
        "eds",
        "evolution-data-server",
        "evolution-data-server.service",
        "",
        1,
        9,
        60,
        0.1,
        1.0,
        focusable=False,
    ),
)
BUILD = AppSpec("build", "make", None, "build", 6, 6, 700, 0.0, 180.0, tty=True, focusable=False)
SESSION = 2301  # the terminal's session id; a build is its own job (process group) in it


@dataclass(slots=True)
class Running:
    """An application instance alive in the trace: its group and its members' pids."""

    spec: AppSpec
    group: AppGroup
    pids: tuple[int, ...]
    started: float  # monotonic seconds since boot
    cpu_10s: float = 0.0


def start(spec: AppSpec, first_pid: int, now: float, pgrp: int | None = None) -> Running:
    pids = tuple(range(first_pid, first_pid + spec.procs))
    if spec.unit is not None:
        gid, kind = f"unit:{spec.unit}", "unit"
    else:
        gid, kind = f"tree:{spec.uid}:{SESSION}:{pgrp or first_pid}", "tree"
    group = AppGroup(gid, spec.name, kind, spec.uid, pids[0], pids, spec.unit)
    return Running(spec, group, pids, now)


def classification(spec: AppSpec) -> Classification | None:
    typedef = BUILTIN_TYPES.get(spec.rule_type.lower())
    if typedef is None:
        return None
    return Classification(spec.rule_type, typedef.klass, f"{spec.name}", f"trace:{spec.key}")


def processes(run: Running, cpu: float, rng: random.Random, pgrp: int) -> list[ProcessRecord]:
    """The members at one tick; the leader carries most of the CPU, as in real applications."""
    run.cpu_10s = 0.5 * run.cpu_10s + 0.5 * cpu
    spec, n = run.spec, len(run.pids)
    rss = spec.rss_mib * MIB * rng.uniform(0.95, 1.05)
    out: list[ProcessRecord] = []
    for i, pid in enumerate(run.pids):
        share = 0.6 if i == 0 and n > 1 else (0.4 / (n - 1) if n > 1 else 1.0)
        out.append(
            ProcessRecord(
                pid=pid,
                ppid=run.pids[0] if i else 1,
                uid=spec.uid,
                comm=spec.name[:15],
                start_time=int(run.started * 100),
                unit=spec.unit,
                session=SESSION if spec.unit is None else pid,
                pgrp=pgrp,
                tty=34816 if spec.tty else 0,
                cpu_tick=round(cpu * share, 3),
                cpu_10s=round(run.cpu_10s * share, 3),
                rss=int(rss / n),
                io_read_rate=round(cpu * share * rng.uniform(0, 4096), 1),
                io_write_rate=round(cpu * share * rng.uniform(0, 2048), 1),
                threads=max(1, spec.threads // n),
            )
        )
    return out
