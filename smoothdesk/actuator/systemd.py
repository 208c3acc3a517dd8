"""The systemd backend: per-unit CPUWeight/IOWeight through SetUnitProperties over D-Bus.

On cgroup v2 the tree belongs to systemd, so we ask it (runtime properties, never persisted)
instead of writing into a tree it manages. Only `app-*.scope` units (what desktops create per
application) and `.service` units are touched, and only when every live process of the unit is
demoted. Originals are read from the unit (2^64-1 means "unset", which SetUnitProperties takes
back as "reset to unset"). In user mode (`user=True`) the same calls go to the user's own
systemd on the session bus: weights on the user's app scopes are a lever an unprivileged owner
can undo, unlike nice. The calls are synchronous for the tick loop: dbus-fast runs on a
private event loop in one daemon thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fnmatch
import threading
from collections.abc import Coroutine, Mapping
from typing import Any, TypeVar

from dbus_fast import BusType, Message, MessageType, Variant
from dbus_fast.aio import MessageBus

from smoothdesk.actuator.cgroups import CgroupBackend, JsonDict
from smoothdesk.actuator.levers import LeverSet
from smoothdesk.core import PriorityClass, ProcessRecord, ProcKey

SYSTEMD = "org.freedesktop.systemd1"
MANAGER_PATH = "/org/freedesktop/systemd1"
MANAGER = "org.freedesktop.systemd1.Manager"
UNSET = 2**64 - 1
# systemd >= 252 takes CPUWeight=0 as "idle" (cpu.idle=1); older ones refuse it.
WEIGHT_IDLE = 0
PROPERTIES = ("CPUWeight", "IOWeight")
_T = TypeVar("_T")


class SystemdBackend(CgroupBackend):
    name = "systemd"
    per_process = False

    def __init__(
        self,
        *,
        bus_address: str | None = None,
        user: bool = False,
        timeout: float = 5.0,
        unit_patterns: tuple[str, ...] = ("app-*.scope", "*.service"),
    ) -> None:
        self.bus_address = bus_address
        self.user = user
        self.timeout = timeout
        self.unit_patterns = unit_patterns
        self.calls = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._bus: MessageBus | None = None
        self._idle_ok = True

    # ---- plumbing ---------------------------------------------------------------------------

    def _run(self, coro: Coroutine[Any, Any, _T]) -> _T:
        if self._loop is None:
            loop = asyncio.new_event_loop()
            self._thread = threading.Thread(target=loop.run_forever, name="smoothdesk-systemd", daemon=True)
            self._thread.start()
            self._loop = loop
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(self.timeout)

    async def _call(self, path: str, interface: str, member: str, sig: str, body: list[Any]) -> Any:
        if self._bus is None:
            if self.bus_address is not None:
                bus = MessageBus(bus_address=self.bus_address)
            else:
                bus = MessageBus(bus_type=BusType.SESSION if self.user else BusType.SYSTEM)
            self._bus = await bus.connect()
        reply = await self._bus.call(
            Message(
                destination=SYSTEMD,
                path=path,
                interface=interface,
                member=member,
                signature=sig,
                body=body,
            )
        )
        self.calls += 1
        if reply is None:
            raise OSError(errno.EIO, f"no reply to {member}")
        if reply.message_type == MessageType.ERROR:
            raise _os_error(reply.error_name or "", str(reply.body[0] if reply.body else ""))
        return reply.body

    def _unit(self, target: str) -> str:
        return target.removeprefix("unit:")

    def _set(self, unit: str, values: Mapping[str, int]) -> None:
        props = [[name, Variant("t", value)] for name, value in values.items()]
        self._run(self._call(MANAGER_PATH, MANAGER, "SetUnitProperties", "sba(sv)", [unit, True, props]))

    # ---- single unit properties (MemoryLow= for the memory levers) ------------------------------

    def manages(self, unit: str) -> bool:
        """Whether `unit` is one this backend may change (the same patterns as the CPU levers)."""
        return any(fnmatch.fnmatchcase(unit, p) for p in self.unit_patterns)

    def get_unit_property(self, unit: str, prop: str) -> int:
        """One integer property of a loaded unit (ProcessLookupError when it is not loaded)."""
        iface = f"{SYSTEMD}.{'Scope' if unit.endswith('.scope') else 'Service'}"

        async def read() -> int:
            (path,) = await self._call(MANAGER_PATH, MANAGER, "GetUnit", "s", [unit])
            (value,) = await self._call(path, "org.freedesktop.DBus.Properties", "Get", "ss", [iface, prop])
            return int(value.value)

        return self._run(read())

    def set_unit_properties(self, unit: str, values: Mapping[str, int]) -> None:
        """SetUnitProperties at runtime (never persisted), as 64-bit unsigned values."""
        self._set(unit, values)

    # ---- backend ----------------------------------------------------------------------------

    def target(self, record: ProcessRecord) -> str | None:
        unit = record.unit
        if unit and any(fnmatch.fnmatchcase(unit, p) for p in self.unit_patterns):
            return f"unit:{unit}"
        return None

    def capture(self, target: str, record: ProcessRecord) -> JsonDict:
        unit = self._unit(target)
        iface = f"{SYSTEMD}.{'Scope' if unit.endswith('.scope') else 'Service'}"

        async def read() -> JsonDict:
            (path,) = await self._call(MANAGER_PATH, MANAGER, "GetUnit", "s", [unit])
            out: JsonDict = {}
            for prop in PROPERTIES:
                (value,) = await self._call(
                    path, "org.freedesktop.DBus.Properties", "Get", "ss", [iface, prop]
                )
                out[prop] = int(value.value)
            return out

        return self._run(read())

    def demote(self, target: str, record: ProcessRecord, klass: PriorityClass, levers: LeverSet) -> None:
        values: dict[str, int] = {}
        if levers.cpu_weight is not None:
            values["CPUWeight"] = levers.cpu_weight
        if levers.io_weight is not None:
            values["IOWeight"] = levers.io_weight
        unit = self._unit(target)
        if levers.cpu_idle and self._idle_ok:
            try:
                self._set(unit, {**values, "CPUWeight": WEIGHT_IDLE})
                return
            except OSError as exc:
                if exc.errno != errno.EINVAL:
                    raise
                self._idle_ok = False  # an older systemd: fall back to the lowest weight
                values.setdefault("CPUWeight", 1)
        if values:
            self._set(unit, values)

    def restore(self, target: str, original: Mapping[str, Any], member: ProcKey | None) -> None:
        values = {k: int(original[k]) for k in PROPERTIES if k in original}
        if values:
            self._set(self._unit(target), values)

    def describe(self, record: ProcessRecord, klass: PriorityClass, levers: LeverSet) -> str:
        target = self.target(record) or "?"
        return (
            f"systemd: SetUnitProperties({self._unit(target)}, runtime, "
            f"CPUWeight={'idle' if levers.cpu_idle else levers.cpu_weight}, "
            f"IOWeight={levers.io_weight})"
        )

    def capabilities(self) -> dict[str, str]:
        return {"CPUWeight": "yes", "IOWeight": "yes", "CPUWeight=idle": "yes (systemd >= 252)"}

    def close(self, *, clean: bool) -> None:
        loop, thread, bus = self._loop, self._thread, self._bus
        self._loop = self._thread = self._bus = None
        if loop is None:
            return
        if bus is not None:
            # The bus is going away either way; a failed goodbye changes nothing.
            with contextlib.suppress(OSError, RuntimeError):
                asyncio.run_coroutine_threadsafe(_disconnect(bus), loop).result(self.timeout)
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(self.timeout)
        loop.close()


async def _disconnect(bus: MessageBus) -> None:
    bus.disconnect()
    await bus.wait_for_disconnect()  # type: ignore[no-untyped-call]


def _os_error(name: str, text: str) -> OSError:
    """D-Bus errors as the OSErrors the actuator counts."""
    if name.endswith(("NoSuchUnit", "UnknownObject", "LoadFailed")):
        return ProcessLookupError(errno.ESRCH, f"{name}: {text}")
    if name.endswith(("AccessDenied", "InteractiveAuthorizationRequired")):
        return PermissionError(errno.EPERM, f"{name}: {text}")
    if name.endswith(("InvalidArgs", "PropertyReadOnly")):
        return OSError(errno.EINVAL, f"{name}: {text}")
    return OSError(errno.EIO, f"{name}: {text}")
