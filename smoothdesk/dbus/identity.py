"""The caller's uid, asked of the bus daemon and cached per unique name until it leaves."""

from __future__ import annotations

from collections.abc import Callable

from dbus_fast import Message, MessageType
from dbus_fast.aio import MessageBus

from smoothdesk.dbus import errors

_DBUS = "org.freedesktop.DBus"


def on_name_lost(bus: MessageBus, forget: Callable[[str], object]) -> None:
    """Call `forget(name)` whenever a connection leaves the bus (its unique name is gone)."""

    def handler(msg: Message) -> None:
        if (
            msg.message_type == MessageType.SIGNAL
            and msg.member == "NameOwnerChanged"
            and len(msg.body) == 3
            and not msg.body[2]
        ):
            forget(msg.body[0])

    bus.add_message_handler(handler)
    rule = (
        "type='signal',sender='org.freedesktop.DBus',member='NameOwnerChanged',"
        "interface='org.freedesktop.DBus'"
    )
    bus.send(
        Message(
            destination=_DBUS,
            path="/org/freedesktop/DBus",
            interface=_DBUS,
            member="AddMatch",
            signature="s",
            body=[rule],
        )
    )


class CallerIdentity:
    """uid per unique name; at most `max_names` kept (a system bus allows 256 connections per
    uid; names that left are forgotten at once, the oldest evicted if NameOwnerChanged lags)."""

    def __init__(self, bus: MessageBus, max_names: int = 8192) -> None:
        self.bus = bus
        self.max_names = max_names
        self._uids: dict[str, int] = {}

    def start(self) -> None:
        """Forget a name's uid when it leaves: names are never reused, the cache must stay small."""
        on_name_lost(self.bus, lambda name: self._uids.pop(name, None))

    async def uid_of(self, sender: str) -> int:
        if not sender:
            raise errors.AccessDenied("caller has no bus name")
        cached = self._uids.get(sender)
        if cached is not None:
            return cached
        reply = await self.bus.call(
            Message(
                destination=_DBUS,
                path="/org/freedesktop/DBus",
                interface=_DBUS,
                member="GetConnectionUnixUser",
                signature="s",
                body=[sender],
            )
        )
        if reply is None or reply.message_type != MessageType.METHOD_RETURN:
            raise errors.AccessDenied("the bus could not tell who the caller is")
        uid = int(reply.body[0])
        if len(self._uids) >= self.max_names:
            del self._uids[next(iter(self._uids))]
        self._uids[sender] = uid
        return uid
