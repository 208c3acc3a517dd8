"""Builders for fake /proc and /sys trees used by the collector tests."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "data" / "proc"


@dataclass
class FakeProc:
    """One fake process; write() lays out its files under proc/PID."""

    pid: int
    comm: str = "app"
    state: str = "S"
    ppid: int = 1
    pgrp: int = 0
    session: int = 0
    utime: int = 0
    stime: int = 0
    cutime: int = 0
    cstime: int = 0
    nice: int = 0
    threads: int = 1
    start: int = 1000
    rss_pages: int = 100
    rt_priority: int = 0
    policy: int = 0
    flags: int = 0x400000
    uid: int = 1000
    cmdline: tuple[str, ...] = ("app",)
    cgroup: str = "0::/user.slice/user-1000.slice/session-1.scope\n"
    cpus: str = "0-1"
    io: tuple[int, int] = (0, 0)
    autogroup: str = "/autogroup-5 nice 0\n"
    exe: str = "/usr/bin/app"
    tgid: int | None = None
    extra_files: dict[str, str] = field(default_factory=dict)

    def stat_line(self) -> str:
        after = ["0"] * 50
        values = {
            0: self.state,
            1: self.ppid,
            2: self.pgrp or self.pid,
            3: self.session or self.pid,
            4: 0,
            5: -1,
            6: self.flags,
            11: self.utime,
            12: self.stime,
            13: self.cutime,
            14: self.cstime,
            15: 20 + self.nice,
            16: self.nice,
            17: self.threads,
            19: self.start,
            20: 1 << 20,
            21: self.rss_pages,
            37: self.rt_priority,
            38: self.policy,
        }
        for index, value in values.items():
            after[index] = str(value)
        return f"{self.pid} ({self.comm}) {' '.join(after)}\n"

    def write(self, proc: Path) -> Path:
        base = proc / str(self.pid)
        base.mkdir(parents=True, exist_ok=True)
        (base / "stat").write_text(self.stat_line())
        tgid = self.pid if self.tgid is None else self.tgid
        (base / "status").write_text(
            f"Name:\t{self.comm}\nState:\t{self.state}\nTgid:\t{tgid}\nPid:\t{self.pid}\n"
            f"PPid:\t{self.ppid}\nUid:\t{self.uid}\t{self.uid}\t{self.uid}\t{self.uid}\n"
            f"Threads:\t{self.threads}\nCpus_allowed_list:\t{self.cpus}\n"
        )
        (base / "cmdline").write_bytes(b"".join(a.encode() + b"\0" for a in self.cmdline))
        (base / "cgroup").write_text(self.cgroup)
        (base / "autogroup").write_text(self.autogroup)
        (base / "io").write_text(f"rchar: 0\nwchar: 0\nread_bytes: {self.io[0]}\nwrite_bytes: {self.io[1]}\n")
        exe = base / "exe"
        if exe.is_symlink():
            exe.unlink()
        if self.exe:
            os.symlink(self.exe, exe)
        for name, text in self.extra_files.items():
            (base / name).write_text(text)
        return base


def write_cpu(proc: Path, user: int, system: int = 0, idle: int = 1000, iowait: int = 0) -> None:
    """A /proc/stat with two CPUs and the given aggregate counters."""
    proc.mkdir(parents=True, exist_ok=True)
    (proc / "stat").write_text(
        f"cpu  {user} 0 {system} {idle} {iowait} 0 0 0 0 0\n"
        "cpu0 0 0 0 0 0 0 0 0 0 0\ncpu1 0 0 0 0 0 0 0 0 0 0\n"
        "intr 0\nctxt 0\nbtime 0\nprocesses 1\nprocs_running 3\nprocs_blocked 0\n"
    )


def remove(proc: Path, pid: int) -> None:
    shutil.rmtree(proc / str(pid))


def copy_samples(dest: Path) -> Path:
    """A copy of the captured samples at dest/proc (tests may change it)."""
    proc = dest / "proc"
    shutil.copytree(DATA, proc, symlinks=True)
    return proc
