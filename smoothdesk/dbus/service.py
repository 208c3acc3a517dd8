"""Helper-side bus adaptor: validates, authorizes and forwards calls; never leaks a traceback."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

from dbus_fast import Message, MessageType
from dbus_fast.aio import MessageBus

from smoothdesk.core.classes import PriorityClass
from smoothdesk.dbus import errors
from smoothdesk.dbus.api import Authorizer, HelperApi
from smoothdesk.dbus.identity import CallerIdentity
from smoothdesk.dbus.introspection import node_xml
from smoothdesk.dbus.names import INTERFACE, METHODS_BY_NAME, OBJECT_PATH, SIGNALS
from smoothdesk.dbus.ratelimit import RateLimiter
from smoothdesk.dbus.variant import to_vardict, to_variant

log = logging.getLogger(__name__)

MAX_REF = 256
MAX_DURATION = 30 * 86400.0


def check_ref(ref: str) -> str:
    if not ref or len(ref) > MAX_REF or not ref.isprintable():
        raise errors.InvalidArgument("app", f"must be 1-{MAX_REF} printable characters")
    return ref


def check_duration(value: float, name: str = "duration") -> float:
    if not math.isfinite(value) or value < 0 or value > MAX_DURATION:
        raise errors.InvalidArgument(name, f"must be between 0 and {MAX_DURATION:g} seconds")
    return value


def check_class(name: str) -> str:
    try:
        return PriorityClass.parse(name).value
    except ValueError as exc:
        raise errors.InvalidArgument("class_name", str(exc)) from None


class HelperService:
    """Serves org.smoothdesk.Helper1 on a connected bus for one HelperApi."""

    def __init__(self, bus: MessageBus, api: HelperApi, authorizer: Authorizer) -> None:
        self.bus = bus
        self.api = api
        self.authorizer = authorizer
        self.identity = CallerIdentity(bus)
        self.limiter = RateLimiter()
        self._xml = node_xml()
        self._tasks: set[asyncio.Task[None]] = set()
        self._handlers: dict[str, Callable[[int, list[Any]], Any]] = {
            "GetStatus": lambda uid, a: [to_vardict(self.api.status())],
            "ListApps": lambda uid, a: [[to_vardict(x) for x in self.api.apps()]],
            "GetApp": lambda uid, a: [to_vardict(self.api.app(check_ref(a[0])))],
            "ListRules": lambda uid, a: [[to_vardict(x) for x in self.api.rules()]],
            "SetClass": lambda uid, a: self.api.set_class(
                uid, check_ref(a[0]), check_class(a[1]), check_duration(a[2])
            ),
            "ClearClass": lambda uid, a: self.api.clear_class(uid, check_ref(a[0])),
            "Pause": lambda uid, a: self.api.pause(uid, check_duration(a[0])),
            "Resume": lambda uid, a: self.api.resume(uid),
            "ReloadRules": lambda uid, a: [self.api.reload_rules(uid)],
        }

    def start(self) -> None:
        self.bus.add_message_handler(self._on_message)
        self.identity.start()

    def emit(self, signal: str, *args: Any) -> None:
        spec = next(s for s in SIGNALS if s.name == signal)
        body = [to_vardict(a) if isinstance(a, dict) else a for a in args]
        sig = "".join(a.signature for a in spec.args)
        self.bus.send(Message.new_signal(OBJECT_PATH, INTERFACE, signal, sig, body))

    def _on_message(self, msg: Message) -> bool | None:
        if msg.message_type != MessageType.METHOD_CALL or msg.path != OBJECT_PATH:
            return None
        if msg.interface == "org.freedesktop.DBus.Introspectable" and msg.member == "Introspect":
            self.bus.send(Message.new_method_return(msg, "s", [self._xml]))
            return True
        if msg.interface not in (INTERFACE, None):
            return None
        self._spawn(self._dispatch(msg))
        return True

    def _spawn(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _dispatch(self, msg: Message) -> None:
        spec = METHODS_BY_NAME.get(msg.member or "")
        try:
            if spec is None:
                raise errors.BusError(f"no method {msg.member!r}", errors.UNKNOWN_METHOD)
            if msg.signature != spec.in_signature:
                raise errors.BusError(
                    f"{spec.name} takes ({spec.in_signature}), got ({msg.signature})",
                    errors.BAD_SIGNATURE,
                )
            sender = msg.sender or ""
            uid = -1
            if spec.mutating:
                if not self.limiter.allow(sender):
                    raise errors.BusError("too many calls; slow down", errors.RATE_LIMITED)
                uid = await self.identity.uid_of(sender)
                await self.authorizer.authorize(sender, uid, spec.name)
            result = self._handlers[spec.name](uid, list(msg.body))
            body = result if isinstance(result, list) else []
            reply = Message.new_method_return(msg, spec.out_signature, body)
        except errors.BusError as exc:
            reply = Message.new_error(msg, exc.name, str(exc))
        except Exception:
            # The caller gets a generic line; the detail stays in our log.
            log.exception("internal error in %s", msg.member)
            reply = Message.new_error(msg, errors.FAILED, "internal error; see the helper's log")
        if not msg.flags & 0x1:  # NO_REPLY_EXPECTED
            self.bus.send(reply)


__all__ = ["HelperService", "check_class", "check_duration", "check_ref", "to_variant"]
