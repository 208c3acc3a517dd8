"""What the session agent knows: the focused process, the audio clients, idle time; plain values."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Focus:
    """The focused window's process; `pid` None with a `reason` means we cannot tell, and say why.

    pid None and no reason: nothing is focused (the desktop, or no window at all).
    """

    pid: int | None = None
    app: str = ""
    reason: str = ""

    @staticmethod
    def unknown(reason: str) -> Focus:
        return Focus(None, "", reason)

    def describe(self) -> str:
        if self.pid is not None:
            return f"{self.app or 'pid'} ({self.pid})"
        return f"unknown: {self.reason}" if self.reason else "none"


@dataclass(frozen=True, slots=True)
class Audio:
    """Processes with an uncorked playback stream; `reason` says why the list is unavailable."""

    pids: frozenset[int] = frozenset()
    apps: tuple[str, ...] = ()
    reason: str = ""


def proc_identity(pid: int, proc: Path = Path("/proc")) -> tuple[int, int] | None:
    """(start time in clock ticks, real uid) of a live process, or None when it is gone."""
    try:
        stat = (proc / str(pid) / "stat").read_text(encoding="utf-8", errors="replace")
        status = (proc / str(pid) / "status").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    uid_line = next((x for x in status.splitlines() if x.startswith("Uid:")), "")
    try:
        return int(fields[19]), int(uid_line.split()[1])
    except (IndexError, ValueError):
        return None


def own_process(pid: int) -> bool:
    """True for a live process of this user: the helper accepts reports about no other."""
    found = proc_identity(pid)
    return found is not None and (found[1] == os.getuid() or os.getuid() == 0)
