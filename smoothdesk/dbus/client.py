"""Client side of org.smoothdesk.Helper1, used by smoothdeskctl (and tests)."""

from __future__ import annotations

from typing import Any

from dbus_fast import BusType, Message, MessageType
from dbus_fast.aio import MessageBus

from smoothdesk.dbus import connection
from smoothdesk.dbus.errors import BusError
from smoothdesk.dbus.names import BUS_NAME, INTERFACE, METHODS_BY_NAME, OBJECT_PATH
from smoothdesk.dbus.variant import from_variant, to_variant


def parse_bus(spec: str) -> tuple[BusType | None, str | None]:
    """'system', 'session' or a D-Bus address ('unix:path=...'); ValueError otherwise."""
    if spec == "system":
        return BusType.SYSTEM, None
    if spec == "session":
        return BusType.SESSION, None
    if ":" in spec and "=" in spec:
        return None, spec
    raise ValueError(f"--bus: expected system, session or a D-Bus address, got {spec!r}")


async def connect(spec: str, *, unix_fds: bool = False) -> MessageBus:
    """Connect to a bus; `unix_fds` negotiates file-descriptor passing (ReportFocusFd)."""
    bus_type, address = parse_bus(spec)
    try:
        if address is not None:
            bus = await MessageBus(bus_address=address, negotiate_unix_fd=unix_fds).connect()
        else:
            bus = await MessageBus(bus_type=bus_type or BusType.SESSION, negotiate_unix_fd=unix_fds).connect()
    except (OSError, ValueError, Exception) as exc:
        raise BusError(f"cannot connect to the {spec} bus: {exc}") from None
    # A full socket must not end the connection (dbus-fast's EAGAIN bug; see dbus/connection.py).
    connection.install(bus)
    return bus


class HelperClient:
    """Typed calls to the helper; errors come back as BusError with the helper's message."""

    def __init__(self, bus: MessageBus) -> None:
        self.bus = bus

    async def call(self, method: str, *args: Any, unix_fds: list[int] | None = None) -> list[Any]:
        spec = METHODS_BY_NAME[method]
        reply = await self.bus.call(
            Message(
                destination=BUS_NAME,
                path=OBJECT_PATH,
                interface=INTERFACE,
                member=method,
                signature=spec.in_signature,
                body=list(args),
                unix_fds=unix_fds or [],
            )
        )
        if reply is None:
            raise BusError(f"{method}: no reply from the helper")
        if reply.message_type == MessageType.ERROR:
            text = reply.body[0] if reply.body else reply.error_name or "error"
            if reply.error_name == "org.freedesktop.DBus.Error.ServiceUnknown":
                text = "the SmoothDesk helper is not running on this bus (start smoothdesk-helper)"
            raise BusError(str(text), reply.error_name)
        return [from_variant(v) for v in reply.body]

    async def status(self) -> dict[str, Any]:
        return dict((await self.call("GetStatus"))[0])

    async def apps(self) -> list[dict[str, Any]]:
        return list((await self.call("ListApps"))[0])

    async def app(self, ref: str) -> dict[str, Any]:
        return dict((await self.call("GetApp", ref))[0])

    async def rules(self) -> list[dict[str, Any]]:
        return list((await self.call("ListRules"))[0])

    async def set_class(self, ref: str, class_name: str, duration: float = 0.0) -> None:
        await self.call("SetClass", ref, class_name, float(duration))

    async def clear_class(self, ref: str) -> None:
        await self.call("ClearClass", ref)

    async def pause(self, duration: float = 0.0) -> None:
        await self.call("Pause", float(duration))

    async def resume(self) -> None:
        await self.call("Resume")

    async def reload_rules(self) -> list[str]:
        return list((await self.call("ReloadRules"))[0])

    async def config(self) -> dict[str, Any]:
        return dict((await self.call("GetConfig"))[0])

    async def doctor(self) -> list[dict[str, Any]]:
        return list((await self.call("GetDoctor"))[0])

    async def history(self, seconds: float) -> list[dict[str, Any]]:
        return list((await self.call("GetHistory", float(seconds)))[0])

    async def report_focus(self, pid: int, start_time: int) -> None:
        await self.call("ReportFocus", pid, start_time)

    async def report_focus_fd(self, pidfd: int) -> None:
        """Needs a bus connected with unix_fds=True; the descriptor stays the caller's."""
        await self.call("ReportFocusFd", 0, unix_fds=[pidfd])

    async def report_audio(self, clients: list[tuple[int, int]]) -> None:
        await self.call("ReportAudio", [list(c) for c in clients])

    async def report_idle(self, seconds: float) -> None:
        await self.call("ReportIdle", float(seconds))

    async def report_xruns(self, source: str, count: int, clients: list[tuple[int, int, int]]) -> None:
        await self.call("ReportXruns", source, count, [list(c) for c in clients])

    async def add_rule(self, rule: dict[str, str]) -> str:
        return str((await self.call("AddRule", {k: to_variant(v) for k, v in rule.items()}))[0])

    async def delete_rule(self, matchers: dict[str, str]) -> int:
        return int((await self.call("DeleteRule", {k: to_variant(v) for k, v in matchers.items()}))[0])

    async def import_ananicy(self, path: str) -> dict[str, Any]:
        return dict((await self.call("ImportAnanicy", path))[0])


__all__ = ["HelperClient", "connect", "parse_bus", "to_variant"]
