"""A dbus-fast connection whose writes survive a full socket, and that says how far behind it is.

dbus-fast (5.2.0, the newest release, and its main branch as of 2026-06) inherits dbus-next's
bug (python-dbus-next issue #153, PR #154 never merged): `_MessageWriter.write_callback` treats
`BlockingIOError` (EAGAIN: the socket's send buffer is full) as fatal and finalizes the bus. A
busy bus daemon that reads the helper's socket a little slower than the helper writes is enough
to knock the helper off the bus. No release fixes it, so this module swaps the writer of a
connected bus for one that keeps the message and its offset, waits for the socket to become
writable and goes on. Every other error stays fatal, as upstream intends.

The writer also counts the bytes it holds (`backlog`) and when it last made progress
(`stalled_for`), so callers can apply back-pressure and detect a bus daemon that stopped
reading the connection altogether.
"""

from __future__ import annotations

import array
import socket
import time
from typing import Any

from dbus_fast import Message
from dbus_fast.aio import MessageBus
from dbus_fast.aio import message_bus as _aio

_Writer: Any = _aio._MessageWriter


class SafeWriter(_Writer):  # type: ignore[misc]
    """dbus-fast's writer with EAGAIN (and EINTR) treated as "try again when writable"."""

    buf: memoryview | None
    offset: int
    unix_fds: list[int] | None

    def __init__(self, bus: MessageBus) -> None:
        super().__init__(bus)
        self.queued = 0  # bytes of whole messages waiting in self.messages
        self.accepted = 0  # bytes ever handed to this writer: what each reply cost in bytes
        self.eagain = 0  # how often the socket was full
        self.progress_at = time.monotonic()

    def backlog(self) -> int:
        """Bytes accepted but not yet written to the socket."""
        partial = len(self.buf) - self.offset if self.buf is not None else 0
        return self.queued + partial

    def buffer_message(self, msg: Message, future: Any = None) -> None:
        if self.buf is None and not self.messages:
            self.progress_at = time.monotonic()  # idle until now: nothing was stalled
        super().buffer_message(msg, future)
        size = len(self.messages[-1][0])
        self.queued += size
        self.accepted += size

    def write_callback(self, remove_writer: bool = True) -> None:
        sock = self.sock
        try:
            while True:
                if self.buf is None:
                    if not self.messages:
                        if remove_writer:
                            self.loop.remove_writer(self.fd)
                        return
                    buf, unix_fds, fut = self.messages.popleft()
                    self.queued -= len(buf)
                    self.unix_fds = unix_fds
                    self.buf = memoryview(buf)
                    self.offset = 0
                    self.fut = fut
                try:
                    if self.unix_fds and self.negotiate_unix_fd:
                        fds = array.array("i", self.unix_fds)
                        ancdata = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)]
                        self.offset += sock.sendmsg([self.buf[self.offset :]], ancdata)
                        self.unix_fds = None
                    else:
                        self.offset += sock.send(self.buf[self.offset :])
                except (BlockingIOError, InterruptedError):
                    # Full: nothing was written (descriptors are kept for the retry). When called
                    # from schedule_write, it registers the writer since self.buf is still set.
                    self.eagain += 1
                    return
                self.progress_at = time.monotonic()
                if self.offset < len(self.buf):
                    return  # partly written: wait for writable
                self.buf = None
                _aio._future_set_result(self.fut, None)
        except Exception as exc:
            if self.bus._user_disconnect:
                _aio._future_set_result(self.fut, None)
            else:
                _aio._future_set_exception(self.fut, exc)
                if self.fut is not None and self.fut.done():
                    # Most senders drop send()'s future; the bus's end is reported on its own.
                    self.fut.exception()
            self.bus._finalize(exc)


def install(bus: MessageBus) -> SafeWriter:
    """Swap a connected bus's writer for a SafeWriter, carrying over whatever it holds."""
    old = bus._writer
    if isinstance(old, SafeWriter):
        return old
    if old is None or not isinstance(old, _Writer):
        raise RuntimeError("dbus-fast changed: MessageBus._writer is not its _MessageWriter")
    new = SafeWriter(bus)
    new.messages, new.buf, new.offset = old.messages, old.buf, old.offset
    new.unix_fds, new.fut = old.unix_fds, old.fut
    new.queued = sum(len(m[0]) for m in new.messages)
    bus._writer = new
    if (new.buf is not None or new.messages) and bus._fd is not None:
        bus._loop.add_writer(bus._fd, new.write_callback)  # replaces the old writer's callback
    return new


def writer(bus: MessageBus) -> SafeWriter | None:
    w = getattr(bus, "_writer", None)
    return w if isinstance(w, SafeWriter) else None


def backlog(bus: MessageBus) -> int:
    """Bytes this connection holds unwritten (0 for a bus without a SafeWriter)."""
    w = writer(bus)
    return w.backlog() if w is not None else 0


def accepted(bus: MessageBus) -> int:
    """Bytes ever queued on this connection (0 without a SafeWriter)."""
    w = writer(bus)
    return w.accepted if w is not None else 0


def stalled_for(bus: MessageBus, now: float | None = None) -> float:
    """Seconds the connection has had bytes to write and written none (0 when not behind)."""
    w = writer(bus)
    if w is None or w.backlog() == 0:
        return 0.0
    return (time.monotonic() if now is None else now) - w.progress_at
