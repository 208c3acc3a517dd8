"""MemoryLow= for the focused app's unit through SystemdBackend, against a fake systemd1 on a private bus."""

import asyncio
import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from dbus_fast import DBusError
from dbus_fast.aio import MessageBus
from dbus_fast.service import PropertyAccess, ServiceInterface, dbus_property, method

from smoothdesk.actuator import Actuator, SystemdBackend, recover
from smoothdesk.core import ProcessRecord
from smoothdesk.policy.memory import MemoryPlan, MiB, ProtectOrder

UNIT = "app-gnome-editor-77.scope"
PATH = "/org/freedesktop/systemd1/unit/" + UNIT.replace("-", "_2d").replace(".", "_2e")


class FakeScope(ServiceInterface):
    def __init__(self) -> None:
        super().__init__("org.freedesktop.systemd1.Scope")
        self.memory_low = 0

    @dbus_property(access=PropertyAccess.READ)
    def MemoryLow(self) -> "t":  # noqa: F821
        return self.memory_low


class FakeManager(ServiceInterface):
    def __init__(self, scope: FakeScope) -> None:
        super().__init__("org.freedesktop.systemd1.Manager")
        self.scope = scope
        self.calls: list[tuple[str, bool, dict[str, int]]] = []

    @method()
    def GetUnit(self, name: "s") -> "o":  # noqa: F821
        if name != UNIT:
            raise DBusError("org.freedesktop.systemd1.NoSuchUnit", f"Unit {name} not loaded.")
        return PATH

    @method()
    def SetUnitProperties(self, name: "s", runtime: "b", properties: "a(sv)") -> None:  # noqa: F821
        if name != UNIT:
            raise DBusError("org.freedesktop.systemd1.NoSuchUnit", f"Unit {name} not loaded.")
        values = {k: v.value for k, v in properties}
        self.calls.append((name, runtime, values))
        self.scope.memory_low = values.get("MemoryLow", self.scope.memory_low)


class FakeSystemd:
    def __init__(self, address: str) -> None:
        self.scope = FakeScope()
        self.manager = FakeManager(self.scope)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.bus: MessageBus | None = None
        asyncio.run_coroutine_threadsafe(self._start(address), self.loop).result(10)

    async def _start(self, address: str) -> None:
        self.bus = await MessageBus(bus_address=address).connect()
        self.bus.export("/org/freedesktop/systemd1", self.manager)
        self.bus.export(PATH, self.scope)
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


@pytest.fixture
def systemd(bus_address: str) -> Iterator[tuple[FakeSystemd, str]]:
    fake = FakeSystemd(bus_address)
    yield fake, bus_address
    fake.stop()


@pytest.fixture
def focused() -> Iterator[ProcessRecord]:
    p = subprocess.Popen(["sleep", "60"])
    fields = Path(f"/proc/{p.pid}/stat").read_text().rsplit(")", 1)[1].split()
    yield ProcessRecord(
        pid=p.pid, ppid=os.getpid(), uid=os.getuid(), comm="sleep", start_time=int(fields[19])
    )
    p.kill()
    p.wait()


def plan(rec: ProcessRecord, unit: str, low: int, *, active: bool = True) -> MemoryPlan:
    # oom_score_adj 1000 can never lower anything: this test is about MemoryLow= alone
    order = ProtectOrder(f"unit:{unit}", "editor", (rec.key,), 1000, unit, low)
    return MemoryPlan(active, 30.0, 0.0, (order,))


def test_memory_low_set_at_runtime_and_restored(
    tmp_path: Path, systemd: tuple[FakeSystemd, str], focused: ProcessRecord
) -> None:
    fake, address = systemd
    act = Actuator(tmp_path / "run", cgroup_backend=SystemdBackend(bus_address=address))
    try:
        report = act.apply_memory(plan(focused, UNIT, 256 * MiB), {focused.pid: focused})
        assert report.memory_low == [UNIT]
        assert fake.manager.calls == [(UNIT, True, {"MemoryLow": 256 * MiB})]
        assert f'"unit":"{UNIT}"' in act.journal.path.read_text()
        # steady state: no D-Bus call
        act.apply_memory(plan(focused, UNIT, 256 * MiB), {focused.pid: focused})
        assert len(fake.manager.calls) == 1
        # pressure over: back to the original 0
        act.apply_memory(plan(focused, UNIT, 256 * MiB, active=False), {focused.pid: focused})
        assert fake.scope.memory_low == 0 and fake.manager.calls[-1] == (UNIT, True, {"MemoryLow": 0})
        assert not act.journal.exists()
    finally:
        act.close()


def test_an_existing_higher_protection_is_kept(
    tmp_path: Path, systemd: tuple[FakeSystemd, str], focused: ProcessRecord
) -> None:
    fake, address = systemd
    fake.scope.memory_low = 512 * MiB
    act = Actuator(tmp_path / "run", cgroup_backend=SystemdBackend(bus_address=address))
    try:
        report = act.apply_memory(plan(focused, UNIT, 256 * MiB), {focused.pid: focused})
        assert report.memory_low == [] and fake.manager.calls == []
    finally:
        act.close()


def test_crash_leaves_a_journal_that_recover_undoes(
    tmp_path: Path, systemd: tuple[FakeSystemd, str], focused: ProcessRecord
) -> None:
    fake, address = systemd
    act = Actuator(tmp_path / "run", cgroup_backend=SystemdBackend(bus_address=address))
    act.apply_memory(plan(focused, UNIT, 128 * MiB), {focused.pid: focused})
    act.close()  # like a crash: close() keeps the journal
    assert fake.scope.memory_low == 128 * MiB
    report = recover(tmp_path / "run", cgroup_backend=SystemdBackend(bus_address=address))
    assert report.restored == 1 and fake.scope.memory_low == 0


def test_without_systemd_memory_low_is_reported_unavailable(tmp_path: Path, focused: ProcessRecord) -> None:
    act = Actuator(tmp_path / "run")
    report = act.apply_memory(plan(focused, UNIT, 256 * MiB), {focused.pid: focused})
    assert report.memory_low == [] and any("MemoryLow=" in n for n in report.notes)
