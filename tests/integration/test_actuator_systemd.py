"""SystemdBackend against a fake org.freedesktop.systemd1 on a private dbus-daemon."""

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from smoothdesk.actuator import Actuator, LeverSet, SystemdBackend, slices
from smoothdesk.actuator.systemd import UNSET
from smoothdesk.core import AppGroup, Decision, MemberClass, PriorityClass, ProcessRecord, Reason
from tests.support.fake_systemd import FakeSystemd, FakeUnit

UNIT = "app-gnome-make-4242.scope"


def fake_systemd(address: str, *, idle_ok: bool = True) -> FakeSystemd:
    return FakeSystemd(address, UNIT, FakeUnit(cpu=UNSET, io=100), idle_ok=idle_ok)


@pytest.fixture
def systemd(bus_address: str) -> Iterator[tuple[FakeSystemd, str]]:
    fake = fake_systemd(bus_address)
    yield fake, bus_address
    fake.stop()


@pytest.fixture
def sleeper() -> Iterator[ProcessRecord]:
    p = subprocess.Popen(["sleep", "60"])
    fields = Path(f"/proc/{p.pid}/stat").read_text().rsplit(")", 1)[1].split()
    yield ProcessRecord(
        pid=p.pid, ppid=os.getpid(), uid=os.getuid(), comm="sleep", start_time=int(fields[19]), unit=UNIT
    )
    p.kill()
    p.wait()


LEVERS = {
    PriorityClass.BACKGROUND: LeverSet(cpu_weight=10, io_weight=10),
    PriorityClass.IDLE: LeverSet(cpu_weight=1, cpu_idle=True, io_weight=1),
}


def decide(klass: PriorityClass, rec: ProcessRecord) -> tuple[dict[str, Decision], list[AppGroup]]:
    group = AppGroup(f"unit:{UNIT}", "make", "unit", rec.uid, rec.pid, (rec.pid,), unit=UNIT)
    return {group.id: Decision(group.id, klass, (Reason("test", "x"),))}, [group]


def test_set_unit_properties_then_restore_originals(
    tmp_path: Path, systemd: tuple[FakeSystemd, str], sleeper: ProcessRecord
) -> None:
    fake, address = systemd
    backend = SystemdBackend(bus_address=address)
    act = Actuator(tmp_path / "run", levers=LEVERS, cgroup_backend=backend)
    try:
        report = act.apply(*decide(PriorityClass.BACKGROUND, sleeper), {sleeper.pid: sleeper})
        assert report.changed == 1
        assert fake.manager.calls == [(UNIT, True, {"CPUWeight": 10, "IOWeight": 10})]
        journal = act.journal.path.read_text()
        assert f'"unit:{UNIT}"' in journal and str(UNSET) in journal

        # Same decision again: no D-Bus traffic at all.
        calls = backend.calls
        act.apply(*decide(PriorityClass.BACKGROUND, sleeper), {sleeper.pid: sleeper})
        assert backend.calls == calls

        report = act.apply(*decide(PriorityClass.IDLE, sleeper), {sleeper.pid: sleeper})
        assert fake.manager.calls[-1] == (UNIT, True, {"CPUWeight": 0, "IOWeight": 1})

        restored = act.restore_all()
        assert restored.restored == 1
        assert fake.manager.calls[-1] == (UNIT, True, {"CPUWeight": UNSET, "IOWeight": 100})
        assert (fake.unit.cpu, fake.unit.io) == (UNSET, 100)
        assert not act.journal.exists()
    finally:
        act.close()


def test_unit_with_an_undemoted_process_is_not_weighted(
    tmp_path: Path, systemd: tuple[FakeSystemd, str], sleeper: ProcessRecord
) -> None:
    fake, address = systemd
    act = Actuator(tmp_path / "run", levers=LEVERS, cgroup_backend=SystemdBackend(bus_address=address))
    other = ProcessRecord(pid=sleeper.pid + 100000, ppid=1, uid=0, comm="x", start_time=1, unit=UNIT)
    decisions, groups = decide(PriorityClass.IDLE, sleeper)
    try:
        act.apply(decisions, groups, {sleeper.pid: sleeper, other.pid: other})
        assert fake.manager.calls == []
    finally:
        act.close()


def test_a_unit_whose_focused_app_only_gets_a_slice_is_not_weighted(
    tmp_path: Path, systemd: tuple[FakeSystemd, str], sleeper: ProcessRecord
) -> None:
    # The app is interactive (its slice is the only lever), its build member is background: the
    # unit's weight would hit the app too, so it stays; the app still gets its slice.
    fake, address = systemd
    levers = {**LEVERS, PriorityClass.INTERACTIVE: LeverSet(slice_ns=250_000)}
    act = Actuator(tmp_path / "run", levers=levers, cgroup_backend=SystemdBackend(bus_address=address))
    app = subprocess.Popen(["sleep", "60"])
    fields = Path(f"/proc/{app.pid}/stat").read_text().rsplit(")", 1)[1].split()
    focused = ProcessRecord(
        pid=app.pid, ppid=1, uid=os.getuid(), comm="code", start_time=int(fields[19]), unit=UNIT
    )
    group = AppGroup(f"unit:{UNIT}", "code", "unit", 0, app.pid, (app.pid, sleeper.pid), unit=UNIT)
    build = MemberClass(sleeper.pid, PriorityClass.BACKGROUND, "compiler", Reason("test", "x"))
    decision = Decision(group.id, PriorityClass.INTERACTIVE, (Reason("test", "x"),), members=(build,))
    try:
        act.apply({group.id: decision}, [group], {app.pid: focused, sleeper.pid: sleeper})
        assert fake.manager.calls == []
        assert slices.read_slice(app.pid) == 250_000
        assert slices.read_slice(sleeper.pid) == 0
        act.restore_all()
        assert slices.read_slice(app.pid) == 0
    finally:
        act.close()
        app.kill()
        app.wait()


def test_old_systemd_without_idle_weight_falls_back(
    tmp_path: Path, bus_address: str, sleeper: ProcessRecord
) -> None:
    fake = fake_systemd(bus_address, idle_ok=False)
    backend = SystemdBackend(bus_address=bus_address)
    try:
        backend.demote(f"unit:{UNIT}", sleeper, PriorityClass.IDLE, LEVERS[PriorityClass.IDLE])
        assert fake.manager.calls == [(UNIT, True, {"CPUWeight": 1, "IOWeight": 1})]
    finally:
        backend.close(clean=True)
        fake.stop()


def test_vanished_unit_counts_as_gone(tmp_path: Path, systemd: tuple[FakeSystemd, str]) -> None:
    _, address = systemd
    backend = SystemdBackend(bus_address=address)
    rec = ProcessRecord(pid=1, ppid=0, uid=0, comm="x", start_time=1, unit="app-gone.scope")
    try:
        with pytest.raises(ProcessLookupError):
            backend.capture("unit:app-gone.scope", rec)
    finally:
        backend.close(clean=True)
