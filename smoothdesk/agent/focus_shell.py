"""Focus reported by the compositor itself: the SmoothDesk GNOME Shell extension or KWin script.

The agent owns `org.smoothdesk.FocusReceiver1` on the user's session bus and the compositor's
code calls `ReportFocus(pid, app_id, xwayland)` on it at every focus change. Only the process
that owns the compositor's well-known name (org.gnome.Shell, org.kde.KWin) and runs as this
user is believed: any other caller on the bus gets AccessDenied, so no other program can fake
the focus.

pid > 0 is the focused window's process, 0 means no window has focus, -1 a window whose
process the compositor does not know. KWin's callDBus sends the pid as a string; GNOME sends
an int32.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from dbus_fast import Message, MessageType, NameFlag, RequestNameReply
from dbus_fast.aio import MessageBus

from smoothdesk.agent.state import Focus
from smoothdesk.agent.watcher import SupervisedWatcher

log = logging.getLogger(__name__)

RECEIVER_NAME = "org.smoothdesk.FocusReceiver1"
RECEIVER_PATH = "/org/smoothdesk/FocusReceiver1"
RECEIVER_IFACE = "org.smoothdesk.FocusReceiver1"
ACCESS_DENIED = "org.freedesktop.DBus.Error.AccessDenied"
INVALID_ARGS = "org.freedesktop.DBus.Error.InvalidArgs"
_DBUS = ("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus")
MAX_PID = 1 << 22  # the kernel's pid_max limit


class ReceiverGone(Exception):
    """The session bus refused us the receiver's name, or the bus went away."""


@dataclass(frozen=True, slots=True)
class Compositor:
    """Who may report: the compositor's bus name, what to call it, and how to ask it for a report."""

    source: str  # "gnome-shell" or "kwin", as doctor and the tray name it
    bus_name: str  # its well-known name on the session bus
    title: str  # for messages: "GNOME Shell", "KWin"


GNOME = Compositor("gnome-shell", "org.gnome.Shell", "GNOME Shell")
KWIN = Compositor("kwin", "org.kde.KWin", "KWin")


def parse_report(body: list[Any]) -> Focus:
    """The Focus a ReportFocus call names; ValueError with the argument at fault otherwise."""
    if len(body) != 3:
        raise ValueError(f"ReportFocus takes 3 arguments (pid, app id, xwayland), got {len(body)}")
    raw, app, xwayland = body
    if isinstance(raw, str):
        try:
            raw = int(raw.strip())
        except ValueError:
            raise ValueError(f"argument 'pid': {raw[:40]!r} is not a number") from None
    if isinstance(raw, bool) or not isinstance(raw, int) or not -1 <= raw < MAX_PID:
        raise ValueError(f"argument 'pid': {raw!r} is not a process id, 0 or -1")
    if not isinstance(app, str) or len(app) > 512:
        raise ValueError("argument 'app_id': not a string of at most 512 characters")
    if not isinstance(xwayland, bool):
        raise ValueError("argument 'xwayland': not a boolean")
    kind = "XWayland" if xwayland else "Wayland"
    if raw > 0:
        return Focus(raw, app, xwayland=xwayland)
    if raw == 0:
        return Focus()
    return Focus.unknown(
        f"the compositor names no process for the focused {kind} window ({app or 'no app id'})"
    )


class CompositorFocus(SupervisedWatcher):
    """Receives the compositor's focus reports on the session bus at `address`, on its own thread.

    `waiting` is the reason reported until the compositor's first report (for instance "the
    extension is not enabled"): a compositor that says nothing leaves the focus unknown.
    """

    thread_name = "smoothdesk-focus-compositor"
    disconnects = (OSError, EOFError, ConnectionError, ReceiverGone)

    def __init__(self, on_change: Callable[[Focus], None], address: str, compositor: Compositor) -> None:
        self.on_change = on_change
        self.address = address
        self.compositor = compositor
        self.waiting = f"{compositor.title} has not reported the focus yet"
        self.ready: Callable[[MessageBus], Any] | None = None  # coroutine run once the name is ours
        super().__init__(f"{compositor.title} focus reports on the session bus")
        self._last: Focus | None = None
        self._owner = ""
        self._bus: MessageBus | None = None
        self._tasks: set[asyncio.Future[None]] = set()  # referenced until done
        self.received = 0  # accepted reports, for the tests
        self.refused = 0

    def _report(self, focus: Focus) -> None:
        if focus != self._last:
            self._last = focus
            self.on_change(focus)

    def _gone(self, why: str) -> None:
        self._report(Focus.unknown(f"no focus reports from {self.compositor.title}: {why}"))

    def _session(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        try:
            bus = await MessageBus(bus_address=self.address).connect()
        except Exception as exc:  # dbus-fast raises plain Exceptions for bad addresses and auth
            raise ReceiverGone(f"cannot connect to the session bus: {exc}") from None
        loop.add_reader(self._wake_r, stop.set)
        self._bus = bus
        try:
            bus.add_message_handler(self._on_message)
            match = (
                f"type='signal',sender='{_DBUS[0]}',member='NameOwnerChanged',"
                f"arg0='{self.compositor.bus_name}'"
            )
            await self._bus_call(bus, "AddMatch", "s", match)
            owner = await self._bus_call(bus, "GetNameOwner", "s", self.compositor.bus_name)
            await self._trust(bus, str(owner[0]) if owner else "")
            if self._last is None or self._last.reason:
                self._report(Focus.unknown(self.waiting))
            # Only now: the compositor reports the moment it sees the name, and must be believed.
            reply = await bus.request_name(RECEIVER_NAME, NameFlag.DO_NOT_QUEUE)
            if reply not in (RequestNameReply.PRIMARY_OWNER, RequestNameReply.ALREADY_OWNER):
                raise ReceiverGone(f"another program owns {RECEIVER_NAME} on this session bus ({reply.name})")
            self._up()
            if self.ready is not None:
                with contextlib.suppress(Exception):  # a hint for a faster first report, no more
                    await self.ready(bus)
            # Never cancelled: that would cancel dbus-fast's own disconnect future with it.
            gone = asyncio.ensure_future(bus.wait_for_disconnect())  # type: ignore[no-untyped-call]
            waiter = asyncio.ensure_future(stop.wait())
            await asyncio.wait({gone, waiter}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            if gone.done() and not self._stopping.is_set():
                raise ReceiverGone("the session bus closed the connection")
        finally:
            loop.remove_reader(self._wake_r)
            self._bus = None
            bus.disconnect()
            with contextlib.suppress(Exception):
                await bus.wait_for_disconnect()  # type: ignore[no-untyped-call]

    async def _bus_call(self, bus: MessageBus, member: str, signature: str, arg: Any) -> list[Any] | None:
        msg = Message(
            destination=_DBUS[0], path=_DBUS[1], interface=_DBUS[2], member=member,
            signature=signature, body=[arg],
        )  # fmt: skip
        reply = await bus.call(msg)
        if reply is None or reply.message_type != MessageType.METHOD_RETURN:
            return None
        return list(reply.body)

    async def _trust(self, bus: MessageBus, owner: str) -> None:
        """Believe `owner` (the compositor's unique name) if it runs as this user."""
        self._owner = ""
        if not owner:
            return
        uid = await self._bus_call(bus, "GetConnectionUnixUser", "s", owner)
        if uid and int(uid[0]) == os.getuid():
            self._owner = owner
        else:
            log.warning("%s on the session bus runs as uid %s, not as this user: its reports are refused",
                        self.compositor.title, uid[0] if uid else "?")  # fmt: skip

    def _on_message(self, msg: Message) -> Message | bool | None:
        if msg.message_type == MessageType.SIGNAL:
            if msg.member == "NameOwnerChanged" and msg.body and msg.body[0] == self.compositor.bus_name:
                self._spawn(self._owner_changed(str(msg.body[2])))
            return None
        if msg.message_type != MessageType.METHOD_CALL or msg.path != RECEIVER_PATH:
            return None
        if msg.interface not in (RECEIVER_IFACE, None) or msg.member not in ("ReportFocus", "Stopped"):
            return None
        if not self._owner or msg.sender != self._owner:
            # Maybe the compositor's name changed hands and NameOwnerChanged is still on its way
            # (a shell started after the agent reports the moment it sees us): ask the bus.
            self._spawn(self._verify(msg))
            return True
        return self._handle(msg)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _verify(self, msg: Message) -> None:
        bus = self._bus
        if bus is None:
            return
        owner = await self._bus_call(bus, "GetNameOwner", "s", self.compositor.bus_name)
        if owner and str(owner[0]) == msg.sender and msg.sender != self._owner:
            await self._trust(bus, msg.sender)
        if self._owner and msg.sender == self._owner:
            bus.send(self._handle(msg))
            return
        self.refused += 1
        why = f"only {self.compositor.title} ({self.compositor.bus_name}) may report focus"
        bus.send(Message.new_error(msg, ACCESS_DENIED, why))

    def _handle(self, msg: Message) -> Message:
        """A call from the trusted compositor: its reply."""
        if msg.member == "Stopped":
            self._report(Focus.unknown(f"the SmoothDesk {self.compositor.title} integration was disabled"))
            return Message.new_method_return(msg)
        try:
            focus = parse_report(list(msg.body))
        except ValueError as exc:
            self.refused += 1
            return Message.new_error(msg, INVALID_ARGS, str(exc))
        self.received += 1
        self._report(focus)
        return Message.new_method_return(msg)

    async def _owner_changed(self, owner: str) -> None:
        if self._bus is None:
            return
        await self._trust(self._bus, owner)
        if not owner:
            self._report(Focus.unknown(f"{self.compositor.title} left the session bus"))
