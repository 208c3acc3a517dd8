"""What the session agent knows: the focused process, the audio clients, idle time; plain values."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Focus:
    """The focused window's process; `pid` None with a `reason` means we cannot tell, and say why.

    pid None and no reason: nothing is focused (the desktop, or no window at all).
    """

    pid: int | None = None
    app: str = ""
    reason: str = ""
    xwayland: bool = False  # an X11 window shown by a Wayland compositor

    @staticmethod
    def unknown(reason: str) -> Focus:
        return Focus(None, "", reason)

    def describe(self) -> str:
        if self.pid is not None:
            return f"{self.app or 'pid'} ({self.pid}{', XWayland' if self.xwayland else ''})"
        return f"unknown: {self.reason}" if self.reason else "none"


@dataclass(frozen=True, slots=True)
class Audio:
    """Processes with an uncorked playback stream; `reason` says why the list is unavailable."""

    pids: frozenset[int] = frozenset()
    apps: tuple[str, ...] = ()
    reason: str = ""
