"""MemoryLow= for the focused app's unit through SystemdBackend, against a fake systemd1 on a private bus."""

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from smoothdesk.actuator import Actuator, SystemdBackend, recover
from smoothdesk.core import ProcessRecord
from smoothdesk.policy.memory import MemoryPlan, MiB, ProtectOrder
from tests.support.fake_systemd import FakeSystemd, FakeUnit

UNIT = "app-gnome-editor-77.scope"


@pytest.fixture
def systemd(bus_address: str) -> Iterator[tuple[FakeSystemd, str]]:
    fake = FakeSystemd(bus_address, UNIT, FakeUnit())
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
        assert fake.unit.memory_low == 0 and fake.manager.calls[-1] == (UNIT, True, {"MemoryLow": 0})
        assert not act.journal.exists()
    finally:
        act.close()


def test_an_existing_higher_protection_is_kept(
    tmp_path: Path, systemd: tuple[FakeSystemd, str], focused: ProcessRecord
) -> None:
    fake, address = systemd
    fake.unit.memory_low = 512 * MiB
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
    assert fake.unit.memory_low == 128 * MiB
    report = recover(tmp_path / "run", cgroup_backend=SystemdBackend(bus_address=address))
    assert report.restored == 1 and fake.unit.memory_low == 0


def test_without_systemd_memory_low_is_reported_unavailable(tmp_path: Path, focused: ProcessRecord) -> None:
    act = Actuator(tmp_path / "run")
    report = act.apply_memory(plan(focused, UNIT, 256 * MiB), {focused.pid: focused})
    assert report.memory_low == [] and any("MemoryLow=" in n for n in report.notes)
