"""A fake org.freedesktop.systemd1 (one unit, SetUnitProperties) exported on a private bus."""

# No `from __future__ import annotations`: dbus_fast reads the "t"/"s" annotations as signatures.
import asyncio
import threading

from dbus_fast import DBusError
from dbus_fast.aio import MessageBus
from dbus_fast.service import PropertyAccess, ServiceInterface, dbus_property, method

NO_SUCH_UNIT = "org.freedesktop.systemd1.NoSuchUnit"


def unit_path(name: str) -> str:
    return "/org/freedesktop/systemd1/unit/" + name.replace("-", "_2d").replace(".", "_2e")


class FakeUnit(ServiceInterface):
    """The properties the actuator reads and writes: CPU and IO weight, MemoryLow."""

    def __init__(self, cpu: int = 100, io: int = 100, memory_low: int = 0) -> None:
        super().__init__("org.freedesktop.systemd1.Scope")
        self.cpu = cpu
        self.io = io
        self.memory_low = memory_low

    @dbus_property(access=PropertyAccess.READ)
    def CPUWeight(self) -> "t":  # noqa: F821
        return self.cpu

    @dbus_property(access=PropertyAccess.READ)
    def IOWeight(self) -> "t":  # noqa: F821
        return self.io

    @dbus_property(access=PropertyAccess.READ)
    def MemoryLow(self) -> "t":  # noqa: F821
        return self.memory_low


class FakeManager(ServiceInterface):
    """Records every SetUnitProperties call and applies it to the fake unit, like systemd."""

    def __init__(self, units: dict[str, FakeUnit], *, idle_ok: bool = True) -> None:
        super().__init__("org.freedesktop.systemd1.Manager")
        self.units = units
        self.idle_ok = idle_ok
        self.calls: list[tuple[str, bool, dict[str, int]]] = []

    @method()
    def GetUnit(self, name: "s") -> "o":  # noqa: F821
        if name not in self.units:
            raise DBusError(NO_SUCH_UNIT, f"Unit {name} not loaded.")
        return unit_path(name)

    @method()
    def SetUnitProperties(self, name: "s", runtime: "b", properties: "a(sv)") -> None:  # noqa: F821
        if name not in self.units:
            raise DBusError(NO_SUCH_UNIT, f"Unit {name} not loaded.")
        values = {k: v.value for k, v in properties}
        if values.get("CPUWeight") == 0 and not self.idle_ok:
            raise DBusError(
                "org.freedesktop.DBus.Error.InvalidArgs", "Value specified in CPUWeight is out of range"
            )
        self.calls.append((name, runtime, values))
        unit = self.units[name]
        unit.cpu = values.get("CPUWeight", unit.cpu)
        unit.io = values.get("IOWeight", unit.io)
        unit.memory_low = values.get("MemoryLow", unit.memory_low)


class FakeSystemd:
    """Exports the fake on its own connection and loop, in a thread (the backend has its own)."""

    def __init__(self, address: str, name: str, unit: FakeUnit, *, idle_ok: bool = True) -> None:
        self.name = name
        self.unit = unit
        self.manager = FakeManager({name: unit}, idle_ok=idle_ok)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.bus: MessageBus | None = None
        asyncio.run_coroutine_threadsafe(self._start(address), self.loop).result(10)

    async def _start(self, address: str) -> None:
        self.bus = await MessageBus(bus_address=address).connect()
        self.bus.export("/org/freedesktop/systemd1", self.manager)
        self.bus.export(unit_path(self.name), self.unit)
        await self.bus.request_name("org.freedesktop.systemd1")

    @staticmethod
    async def _disconnect(bus: MessageBus) -> None:
        bus.disconnect()
        await bus.wait_for_disconnect()

    def stop(self) -> None:
        if self.bus is not None:
            asyncio.run_coroutine_threadsafe(self._disconnect(self.bus), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()
