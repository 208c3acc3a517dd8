"""The GUI's one link to the helper: dbus-fast on a background asyncio thread, results as Qt signals."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any

import shiboken6
from dbus_fast import Message, MessageType
from dbus_fast.aio import MessageBus
from PySide6.QtCore import QObject, Qt, Signal, Slot

from smoothdesk.dbus.client import HelperClient, connect
from smoothdesk.dbus.errors import FAILED, BusError
from smoothdesk.dbus.names import BUS_NAME, INTERFACE, METHODS_BY_NAME, OBJECT_PATH
from smoothdesk.dbus.variant import from_variant, to_variant

log = logging.getLogger(__name__)

SERVICE_UNKNOWN = "org.freedesktop.DBus.Error.ServiceUnknown"
DBUS = ("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus")
BACKOFF_MIN, BACKOFF_MAX = 0.5, 30.0
_RAW_SIGNATURES = ((bool, "b"), (int, "x"), (float, "d"), (str, "s"), (dict, "a{sv}"))


def _raw_signature(args: tuple[Any, ...]) -> str:
    """Signature of a call the method table does not know yet (planned methods such as GetReport)."""
    out = ""
    for a in args:
        out += next((sig for typ, sig in _RAW_SIGNATURES if isinstance(a, typ)), "v")
    return out


async def bus_daemon(bus: MessageBus, member: str, signature: str, *body: Any) -> Message | None:
    """Call the bus daemon itself (AddMatch, GetNameOwner, NameHasOwner)."""
    dest, path, iface = DBUS
    return await bus.call(
        Message(
            destination=dest, path=path, interface=iface, member=member, signature=signature, body=list(body)
        )
    )


class HelperConnection(QObject):
    """Connects, follows the helper's bus name, reconnects with backoff; signals fire in the GUI thread."""

    connected = Signal()
    disconnected = Signal(str)
    status = Signal(dict)
    metrics = Signal(dict)
    apps_changed = Signal(list)
    alert = Signal(dict)
    _post = Signal(object)

    def __init__(self, bus: str = "session", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.bus_spec = bus
        self._connected = False
        self._announced = False
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._bus: MessageBus | None = None
        self._owner = ""
        self._owner_changed: asyncio.Event | None = None
        self._post.connect(self._run_posted, Qt.ConnectionType.QueuedConnection)

    # GUI thread API

    @property
    def is_connected(self) -> bool:
        return self._connected

    def start(self) -> None:
        if self._thread is not None:
            return
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._thread_main, args=(ready,), name="helper-conn", daemon=True
        )
        self._thread.start()
        ready.wait(5)

    def stop(self) -> None:
        loop, stopping = self._loop, self._stopping
        if self._thread is None or loop is None or stopping is None:
            return
        loop.call_soon_threadsafe(stopping.set)
        self._thread.join(5)
        self._thread = None
        self._connected = False

    def switch_bus(self, bus: str) -> None:
        """Follow the helper on another bus (after starting one in user mode on the session bus)."""
        self.stop()
        self.bus_spec = bus
        self.start()

    def call(
        self,
        method: str,
        *args: Any,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[str, str], None] | None = None,
    ) -> None:
        """`method`: a HelperClient method ("apps", "pause") or a raw D-Bus name ("GetAlerts")."""
        loop = self._loop
        if loop is None or self._bus is None:
            if on_error is not None:
                self._deliver(on_error, SERVICE_UNKNOWN, "not connected to the SmoothDesk helper")
            return
        asyncio.run_coroutine_threadsafe(self._call(method, args, on_done, on_error), loop)

    @Slot(object)
    def _run_posted(self, fn: Callable[[], None]) -> None:
        fn()

    def _deliver(self, callback: Callable[..., None], *args: Any) -> None:
        """`callback(*args)` in the GUI thread, unless it is a method of a Qt object deleted while the
        call was in flight (a window closed before its reply came): that would raise in Qt's loop."""
        owner = getattr(callback, "__self__", None)
        self._post.emit(
            lambda: None if isinstance(owner, QObject) and not shiboken6.isValid(owner) else callback(*args)
        )

    def _set_connected(self, up: bool, reason: str = "") -> None:
        # Signals mark transitions (and the first verdict), so a retrying loop does not repeat itself.
        was, first, self._connected, self._announced = self._connected, not self._announced, up, True
        if up and not was:
            self.connected.emit()
        elif not up and (was or first):
            self.disconnected.emit(reason)

    def _announce(self, status: dict[str, Any]) -> None:
        self._set_connected(True)
        self.status.emit(status)

    # worker thread

    def _thread_main(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._stopping = asyncio.Event()
        self._owner_changed = asyncio.Event()
        ready.set()
        try:
            loop.run_until_complete(self._run())
        finally:
            loop.close()
            self._loop = None

    async def _call(
        self,
        method: str,
        args: tuple[Any, ...],
        on_done: Callable[[Any], None] | None,
        on_error: Callable[[str, str], None] | None,
    ) -> None:
        try:
            bus = self._bus
            if bus is None:
                raise BusError("not connected to the SmoothDesk helper", SERVICE_UNKNOWN)
            client = HelperClient(bus)
            if method in METHODS_BY_NAME:
                body = await client.call(method, *args)
                result: Any = body[0] if len(body) == 1 else (body or None)
            elif hasattr(client, method) and not method.startswith("_"):
                result = await getattr(client, method)(*args)
            else:
                result = await self._raw(bus, method, args)
        except BusError as exc:
            if on_error is not None:
                self._deliver(on_error, exc.name, str(exc))
            return
        except Exception as exc:  # a bug or a bad argument must reach the caller, not kill the loop
            if on_error is not None:
                self._deliver(on_error, FAILED, f"{method}: {exc}")
            return
        if on_done is not None:
            self._deliver(on_done, result)

    async def _raw(self, bus: MessageBus, method: str, args: tuple[Any, ...]) -> Any:
        sig = _raw_signature(args)
        body = [to_variant(a) if t == "v" else a for a, t in zip(args, sig, strict=False)]
        body = [{k: to_variant(v) for k, v in a.items()} if isinstance(a, dict) else a for a in body]
        reply = await bus.call(
            Message(
                destination=BUS_NAME,
                path=OBJECT_PATH,
                interface=INTERFACE,
                member=method,
                signature=sig,
                body=body,
            )
        )
        if reply is None or reply.message_type == MessageType.ERROR:
            name = reply.error_name if reply is not None else FAILED
            text = str(reply.body[0]) if reply is not None and reply.body else f"{method}: no reply"
            raise BusError(text, name or FAILED)
        values = [from_variant(v) for v in reply.body]
        return values[0] if len(values) == 1 else (values or None)

    async def _run(self) -> None:
        assert self._stopping is not None
        backoff = BACKOFF_MIN
        while not self._stopping.is_set():
            try:
                bus = await connect(self.bus_spec)
            except BusError as exc:
                self._post.emit(lambda r=str(exc): self._set_connected(False, r))
                await self._sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)
                continue
            backoff = BACKOFF_MIN
            self._bus = bus
            try:
                await self._serve(bus)
            finally:
                self._bus = None
                bus.disconnect()
        self._post.emit(lambda: self._set_connected(False))

    async def _sleep(self, seconds: float) -> None:
        assert self._stopping is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _serve(self, bus: MessageBus) -> None:
        """One bus connection: follow the helper's name until the bus goes away or we stop."""
        assert self._stopping is not None and self._owner_changed is not None
        bus.add_message_handler(self._on_message)
        await bus_daemon(bus, "AddMatch", "s", f"type='signal',interface='{INTERFACE}',path='{OBJECT_PATH}'")
        await bus_daemon(
            bus,
            "AddMatch",
            "s",
            f"type='signal',sender='org.freedesktop.DBus',member='NameOwnerChanged',arg0='{BUS_NAME}'",
        )
        reply = await bus_daemon(bus, "GetNameOwner", "s", BUS_NAME)
        self._owner = str(reply.body[0]) if reply and reply.message_type == MessageType.METHOD_RETURN else ""
        gone = asyncio.ensure_future(bus.wait_for_disconnect())  # type: ignore[no-untyped-call]
        stop = asyncio.ensure_future(self._stopping.wait())
        try:
            while True:
                self._owner_changed.clear()
                await self._follow_owner(bus)
                changed = asyncio.ensure_future(self._owner_changed.wait())
                await asyncio.wait({gone, stop, changed}, return_when=asyncio.FIRST_COMPLETED)
                changed.cancel()
                if stop.done():
                    return
                if gone.done():
                    self._post.emit(
                        lambda: self._set_connected(False, f"lost the connection to the {self.bus_spec} bus")
                    )
                    return
        finally:
            for fut in (gone, stop):
                fut.cancel()

    async def _follow_owner(self, bus: MessageBus) -> None:
        if not self._owner:
            reason = f"the SmoothDesk helper is not running on the {self.bus_spec} bus"
            self._post.emit(lambda: self._set_connected(False, reason))
            return
        for attempt in range(3):
            try:
                status = await HelperClient(bus).status()
                break
            except BusError as exc:
                # A helper that just took its name may not have exported its object yet.
                if attempt == 2 or not self._owner:
                    self._post.emit(lambda r=str(exc): self._set_connected(False, r))
                    return
                await self._sleep(0.3)
        self._post.emit(lambda: self._announce(status))

    def _on_message(self, msg: Message) -> None:
        if msg.message_type != MessageType.SIGNAL:
            return
        if msg.member == "NameOwnerChanged" and msg.sender == "org.freedesktop.DBus":
            if msg.body and msg.body[0] == BUS_NAME:
                self._owner = str(msg.body[2])
                if self._owner_changed is not None:
                    self._owner_changed.set()
            return
        # Only the helper that owns the name may speak for it.
        if msg.interface != INTERFACE or not self._owner or msg.sender != self._owner or not msg.body:
            return
        value = from_variant(msg.body[0])
        target = {
            "StatusChanged": self.status,
            "Metrics": self.metrics,
            "AppsChanged": self.apps_changed,
            "Alert": self.alert,
        }.get(msg.member or "")
        if target is not None:
            self._post.emit(lambda: target.emit(value))
