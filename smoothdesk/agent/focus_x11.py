"""X11 focus: EWMH _NET_ACTIVE_WINDOW and _NET_WM_PID, followed by PropertyNotify events (no polling)."""

from __future__ import annotations

import contextlib
import logging
import os
import select
import socket
from collections.abc import Callable
from typing import Any

from Xlib import X, Xatom
from Xlib.display import Display
from Xlib.error import ConnectionClosedError, DisplayError, XError

from smoothdesk.agent.state import Focus
from smoothdesk.agent.watcher import SupervisedWatcher

log = logging.getLogger(__name__)


def open_display(name: str | None) -> Display:
    """Display(name), minus the sockets python-xlib leaves open when it cannot connect: its unix
    and TCP attempts were closed only by the collector, and their ResourceWarning surfaced in
    whatever code ran then (a test failed on it in an unrelated line)."""
    try:
        return Display(name)
    except Exception as exc:
        _close_sockets(exc)
        raise


def _close_sockets(exc: BaseException | None) -> None:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:  # each failed attempt is the next one's context
        seen.add(id(exc))
        tb = exc.__traceback__
        while tb is not None:
            for value in tb.tb_frame.f_locals.values():
                if isinstance(value, socket.socket):
                    value.close()
            tb = tb.tb_next
        exc = exc.__context__


class X11Focus(SupervisedWatcher):
    """Reports the focused window's process to `on_change` from its own thread, on every change."""

    thread_name = "smoothdesk-focus-x11"
    # What python-xlib raises when the server cannot be reached (DisplayError) or goes away
    # mid-session (ConnectionClosedError, or the socket's OSError); XError is a failed request.
    disconnects = (ConnectionClosedError, DisplayError, OSError, XError)

    def __init__(self, on_change: Callable[[Focus], None], display: str | None = None) -> None:
        self.on_change = on_change
        self.display_name = display or os.environ.get("DISPLAY", "")
        self.hostnames = {socket.gethostname(), socket.getfqdn(), "localhost"}
        super().__init__(f"the X display {self.display_name!r}")
        self._last: Focus | None = None

    def _report(self, focus: Focus) -> None:
        if focus != self._last:
            self._last = focus
            self.on_change(focus)

    def _gone(self, why: str) -> None:
        self._report(Focus.unknown(f"no focus from the X display {self.display_name!r}: {why}"))

    def _session(self) -> None:
        d = open_display(self.display_name)
        try:
            self._serve(d)
        finally:
            # Closing flushes, which raises on a server that went away: the outage is known already.
            with contextlib.suppress(ConnectionClosedError, OSError):
                d.close()

    def _serve(self, d: Display) -> None:
        root = d.screen().root
        active = d.intern_atom("_NET_ACTIVE_WINDOW")
        watched: Any = None
        root.change_attributes(event_mask=X.PropertyChangeMask)
        while not self._stopping.is_set():
            focus, window = self.read_focus(d)
            # The focused window may gain its pid or title after it is focused: watch it too.
            if window is not watched and window is not None:
                window.change_attributes(event_mask=X.PropertyChangeMask)
            watched = window
            self._up()
            self._report(focus)
            if not self._wait_for(d, active):
                return

    def _wait_for(self, d: Display, active: int) -> bool:
        """Block until a relevant property changes; False once stopping."""
        relevant = (active, d.intern_atom("_NET_WM_PID"), Xatom.WM_CLASS)
        while True:
            # pending_events() reads whatever the server sent without blocking.
            while d.pending_events():
                event = d.next_event()
                if event.type == X.PropertyNotify and event.atom in relevant:
                    return True
            readable, _, _ = select.select([d.fileno(), self._wake_r], [], [])
            if self._wake_r in readable:
                return False

    def read_focus(self, d: Display) -> tuple[Focus, Any]:
        """The current Focus and the active window object (None when there is none)."""
        root = d.screen().root
        prop = root.get_full_property(d.intern_atom("_NET_ACTIVE_WINDOW"), X.AnyPropertyType)
        if prop is None:
            if not root.get_full_property(d.intern_atom("_NET_SUPPORTING_WM_CHECK"), X.AnyPropertyType):
                return Focus.unknown("no EWMH window manager (no _NET_ACTIVE_WINDOW)"), None
            return Focus(), None
        wid = int(prop.value[0]) if len(prop.value) else 0
        if wid == 0:
            return Focus(), None
        window = d.create_resource_object("window", wid)
        try:
            return self._describe(d, window), window
        except XError:
            return Focus(), None  # destroyed meanwhile; the WM will name the next one

    def _describe(self, d: Display, window: Any) -> Focus:
        wm_class = window.get_wm_class()
        app = wm_class[1] if wm_class else ""
        machine = window.get_full_property(Xatom.WM_CLIENT_MACHINE, X.AnyPropertyType)
        if machine is not None:
            value = machine.value
            host = value if isinstance(value, str) else bytes(value).decode(errors="replace")
            if host and host not in self.hostnames:
                return Focus.unknown(f"the focused window ({app or hex(window.id)}) runs on host {host!r}")
        pid = window.get_full_property(d.intern_atom("_NET_WM_PID"), Xatom.CARDINAL)
        if pid is None or not len(pid.value):
            return Focus.unknown(f"the focused window ({app or hex(window.id)}) has no _NET_WM_PID")
        return Focus(int(pid.value[0]), app)
