"""Helper-side bus adaptor: validates, authorizes and forwards calls; never leaks a traceback."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import math
import os
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from dbus_fast import Message, MessageType
from dbus_fast.aio import MessageBus

from smoothdesk.core.classes import PriorityClass
from smoothdesk.dbus import connection, errors, procref, rulecheck
from smoothdesk.dbus.api import Authorizer, HelperApi
from smoothdesk.dbus.gate import Gate, Meter, heavy_key
from smoothdesk.dbus.identity import CallerIdentity, on_name_lost
from smoothdesk.dbus.introspection import node_xml
from smoothdesk.dbus.names import INTERFACE, METHODS_BY_NAME, OBJECT_PATH, REPORTS, SIGNALS
from smoothdesk.dbus.polkit import ADJUST_ANY, ADJUST_OWN, DEMOTE_OWN
from smoothdesk.dbus.ratelimit import Quotas
from smoothdesk.dbus.reserved import Reserved
from smoothdesk.dbus.variant import from_variant, to_vardict, to_variant
from smoothdesk.dbus.xrunreport import check_xruns

log = logging.getLogger(__name__)

MAX_REF = 256
MAX_DURATION = 30 * 86400.0
MAX_HISTORY = 3600.0
MAX_REPORT = 3650 * 86400.0
REPORT_FORMATS = ("json", "csv", "html")
MAX_AUDIO_CLIENTS = 256
UNKNOWN_KINDS = ("focus", "audio", "idle")
MAX_REASON = 512
DEMOTING = frozenset({PriorityClass.BACKGROUND.value, PriorityClass.IDLE.value})
# Calls being handled at once, all callers together (each is a task holding its message); past
# it a call is dropped unanswered. Per uid, Quotas bounds far lower.
MAX_TASKS = 2048
# Bytes the helper's connection may hold unwritten before heavy reads are refused (the bus
# daemon is not keeping up; a reply of megabytes would only make it worse).
MAX_BACKLOG = 8 << 20
_DBUS_PEER = "org.freedesktop.DBus.Peer"


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


def check_seconds(value: float, most: float = MAX_HISTORY) -> float:
    """A span back in time: finite and positive; more than is kept is clamped to what is kept."""
    if not math.isfinite(value) or value <= 0:
        raise errors.InvalidArgument("seconds", f"must be more than 0 (at most {most:g} is kept)")
    return min(value, most)


def check_format(fmt: str) -> str:
    if fmt not in REPORT_FORMATS:
        raise errors.InvalidArgument("format", f"must be one of {', '.join(REPORT_FORMATS)}")
    return fmt


def focus_process(uid: int, pid: int, start: int) -> tuple[int, int] | None:
    """None for pid 0 ("no focus"), else (pid, start) once it is proven to be the caller's."""
    if pid == 0:
        return None
    procref.owner_of(pid, start, uid)
    return pid, start


def audio_processes(uid: int, clients: list[Any]) -> list[tuple[int, int]]:
    if len(clients) > MAX_AUDIO_CLIENTS:
        raise errors.InvalidArgument("clients", f"at most {MAX_AUDIO_CLIENTS} entries")
    out = []
    for pid, start in clients:
        procref.owner_of(pid, start, uid, "clients")
        out.append((pid, start))
    return out


def check_unknown(kind: str, reason: str) -> tuple[str, str]:
    if kind not in UNKNOWN_KINDS:
        raise errors.InvalidArgument("kind", f"must be one of {', '.join(UNKNOWN_KINDS)}")
    if not reason or len(reason) > MAX_REASON or not reason.isprintable():
        raise errors.InvalidArgument("reason", f"must be 1-{MAX_REASON} printable characters")
    return kind, reason


def fd_of(msg: Message) -> int:
    index = msg.body[0]
    if not isinstance(index, int) or not 0 <= index < len(msg.unix_fds):
        raise errors.InvalidArgument("pidfd", "no file descriptor was passed")
    return msg.unix_fds[index]


def _close_fds(msg: Message) -> None:
    fds, msg.unix_fds = list(msg.unix_fds or ()), []
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


class HelperService:
    """Serves org.smoothdesk.Helper1 on a connected bus for one HelperApi."""

    def __init__(
        self, bus: MessageBus, api: HelperApi, authorizer: Authorizer, quotas: Quotas | None = None
    ) -> None:
        self.bus = bus
        self.api = api
        self.authorizer = authorizer
        self.identity = CallerIdentity(bus)
        # Kept across reconnections by the caller that passes it in: a flooder gains nothing
        # from knocking the helper off the bus.
        self.quotas = quotas or Quotas(reserved=Reserved())
        self.gate = Gate(self.quotas, self.bus.send, lambda: connection.accepted(self.bus))
        self._xml = node_xml()
        self._tasks: set[asyncio.Task[None]] = set()
        self._reporters: set[str] = set()
        self._departed: deque[str] = deque(maxlen=256)
        self._executor_cpu = 0.0
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
            "GetConfig": lambda uid, a: [to_vardict(self.api.config())],
            "GetDoctor": lambda uid, a: [[to_vardict(x) for x in self.api.doctor()]],
            "GetHistory": lambda uid, a: [[to_vardict(x) for x in self.api.history(check_seconds(a[0]))]],
            "GetAlerts": lambda uid, a: [[to_vardict(x) for x in self.api.alerts()]],
            "GetSlo": lambda uid, a: [[to_vardict(x) for x in self.api.slo()]],
            "GetReport": lambda uid, a: self._report_text(
                check_seconds(a[0], MAX_REPORT), check_format(a[1])
            ),
            "AddRule": lambda uid, a: [self.api.add_rule(uid, rulecheck.check_rule(from_variant(a[0])))],
            "DeleteRule": lambda uid, a: [
                self.api.delete_rule(uid, rulecheck.check_matchers(from_variant(a[0])))
            ],
            "ImportAnanicy": lambda uid, a: [
                to_vardict(self.api.import_ananicy(uid, rulecheck.check_path(a[0])))
            ],
        }

    async def _report_text(self, seconds: float, fmt: str) -> list[str]:
        # Reading days of the snapshot log takes a while: off the loop, so ticks go on. Its CPU
        # (thread time in the worker) is charged to the caller like the rest.
        def work() -> tuple[str, float]:
            t0 = time.thread_time()
            text = self.api.report(seconds, fmt)
            return text, time.thread_time() - t0

        text, cpu = await asyncio.get_running_loop().run_in_executor(None, work)
        self._executor_cpu += cpu
        return [text]

    def start(self) -> None:
        self.bus.add_message_handler(self._on_message)
        self.identity.start()
        on_name_lost(self.bus, self._name_lost)

    def forget_reporters(self) -> None:
        """The connection is gone: none of its callers' reports count any more."""
        for name in list(self._reporters):
            self._name_lost(name)

    def _name_lost(self, name: str) -> None:
        # A report still in flight from a name that already left must not outlive it.
        self._departed.append(name)
        if name in self._reporters:
            self._reporters.discard(name)
            self.api.reporter_left(name)

    def _report(self, msg: Message, name: str, uid: int, args: list[Any]) -> None:
        """The session agent's reports, kept by the helper per reporting connection."""
        sender = msg.sender or ""
        if sender in self._departed:
            raise errors.AccessDenied("the caller has left the bus")
        if name == "ReportFocusFd":
            self.api.report_focus(uid, procref.pidfd_owner(fd_of(msg), uid), sender)
        elif name == "ReportFocus":
            self.api.report_focus(uid, focus_process(uid, args[0], args[1]), sender)
        elif name == "ReportAudio":
            self.api.report_audio(uid, audio_processes(uid, args[0]), sender)
        elif name == "ReportXruns":
            self.api.report_xruns(uid, *check_xruns(uid, args[0], args[1], args[2]), sender)
        elif name == "ReportUnknown":
            self.api.report_unknown(uid, *check_unknown(args[0], args[1]), sender)
        else:
            self.api.report_idle(uid, check_duration(args[0], "seconds"), sender)
        self._reporters.add(sender)

    def emit(self, signal: str, *args: Any) -> None:
        spec = next(s for s in SIGNALS if s.name == signal)
        body = [to_vardict(a) if isinstance(a, dict) else a for a in args]
        sig = "".join(a.signature for a in spec.args)
        self.bus.send(Message.new_signal(OBJECT_PATH, INTERFACE, signal, sig, body))

    def _on_message(self, msg: Message) -> bool | None:
        dispatch = (
            msg.message_type == MessageType.METHOD_CALL
            and msg.path == OBJECT_PATH
            and msg.interface in (INTERFACE, None)
        )
        if not dispatch:
            _close_fds(msg)  # nobody else here takes descriptors: never keep one
        if msg.message_type != MessageType.METHOD_CALL:
            return None
        # Every call, ours or not (Introspect, Peer, other paths), passes the caller's quota:
        # dbus-fast would answer the rest itself, unthrottled.
        if len(self._tasks) < MAX_TASKS:
            self._spawn(self._dispatch(msg))
        else:
            self.gate.dropped += 1
        return True

    def _spawn(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _dispatch(self, msg: Message) -> None:
        """Who is calling, then through the gate, which sends the reply (or the refusal)."""
        try:
            try:
                uid = await self.identity.uid_of(msg.sender or "")
            except errors.BusError as exc:
                if not msg.flags & 0x1:  # NO_REPLY_EXPECTED
                    self.bus.send(Message.new_error(msg, exc.name, str(exc)))
                return
            heavy = msg.path == OBJECT_PATH and heavy_key(msg.member or "", list(msg.body)) is not None
            await self.gate.through(msg, uid, heavy, lambda meter: self._serve(msg, uid, meter))
        except Exception as exc:
            # The connection went away under the call (the link reconnects): nobody to answer.
            if self.bus.connected:
                log.exception("call %s failed", msg.member)
            else:
                log.debug("call %s dropped with the connection: %s", msg.member, exc)
        finally:
            # Every passed descriptor is ours to close, whatever the method or its outcome.
            _close_fds(msg)

    async def _serve(self, msg: Message, uid: int, meter: Meter) -> Message:
        """The reply to an admitted call; its marshalling is charged to the caller too."""
        if msg.interface == _DBUS_PEER and msg.member == "Ping":
            return Message.new_method_return(msg)  # on any path, as dbus-fast answered it before
        if msg.path != OBJECT_PATH:
            return Message.new_error(msg, errors.UNKNOWN_OBJECT, f"no object at {msg.path}")
        if msg.interface == "org.freedesktop.DBus.Introspectable" and msg.member == "Introspect":
            return Message.new_method_return(msg, "s", [self._xml])
        if msg.interface not in (INTERFACE, None):
            return Message.new_error(msg, errors.UNKNOWN_METHOD, f"no interface {msg.interface}")
        key = heavy_key(msg.member or "", list(msg.body))
        if key is not None:
            cached = self.gate.cache.get(key)
            if cached is not None:
                return Message.new_method_return(msg, msg_sig(key), cached)
            if connection.backlog(self.bus) > MAX_BACKLOG:
                return Message.new_error(msg, errors.RATE_LIMITED, "the helper is busy writing; try again")
        before = self._executor_cpu
        reply = await self._reply(msg, METHODS_BY_NAME.get(msg.member or ""), uid, meter)
        meter.cpu += self._executor_cpu - before
        if key is not None and reply.message_type == MessageType.METHOD_RETURN:
            self.gate.cache.put(key, list(reply.body))
        return reply

    async def _authorize(self, msg: Message, name: str, uid: int, args: list[Any]) -> None:
        """Polkit (or the session rule) for changes; ownership alone for the agent's reports."""
        sender = msg.sender or ""
        if name in REPORTS:
            return  # each report proves ownership of its processes itself
        if name in ("SetClass", "ClearClass"):
            ref = check_ref(args[0])
            wanted = check_class(args[1]) if name == "SetClass" else ""
            if name == "SetClass":
                check_duration(args[2])
            owner = self.api.app_owner(ref)
            if owner != uid:
                action = ADJUST_ANY
            elif wanted in DEMOTING:
                action = DEMOTE_OWN
            else:
                action = ADJUST_OWN
            await self.authorizer.authorize_action(sender, action, uid=uid, what=name)
            return
        await self.authorizer.authorize(sender, uid, name)

    async def _reply(self, msg: Message, spec: Any, uid: int, meter: Meter) -> Message:
        try:
            if spec is None:
                raise errors.BusError(f"no method {msg.member!r}", errors.UNKNOWN_METHOD)
            if msg.signature != spec.in_signature:
                raise errors.BusError(
                    f"{spec.name} takes ({spec.in_signature}), got ({msg.signature})",
                    errors.BAD_SIGNATURE,
                )
            args = list(msg.body)
            if spec.mutating:
                await self._authorize(msg, spec.name, uid, args)
            if spec.name in REPORTS:
                meter.run(lambda: self._report(msg, spec.name, uid, args))
                result: Any = None
            else:
                result = meter.run(lambda: self._handlers[spec.name](uid, args))
                if inspect.isawaitable(result):
                    result = await result
            body = result if isinstance(result, list) else []
            return Message.new_method_return(msg, spec.out_signature, body)
        except errors.BusError as exc:
            return Message.new_error(msg, exc.name, str(exc))
        except Exception:
            # The caller gets a generic line; the detail stays in our log.
            log.exception("internal error in %s", msg.member)
            return Message.new_error(msg, errors.FAILED, "internal error; see the helper's log")


def msg_sig(key: tuple[Any, ...]) -> str:
    return METHODS_BY_NAME[str(key[0])].out_signature


__all__ = ["HelperService", "check_class", "check_duration", "check_ref", "check_seconds", "to_variant"]
