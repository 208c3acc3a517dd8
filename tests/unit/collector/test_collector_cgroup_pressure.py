"""A cgroup v2 group's own cpu.pressure / memory.pressure, on a fake cgroup2 tree (this machine is v1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from smoothdesk.collector.cgroups import group_pressure, read_group_pressure
from smoothdesk.core.snapshot import PsiFigures

APP = "/user.slice/user-1000.slice/user@1000.service/app.slice/app-firefox-1234.scope"
CPU = (
    "some avg10=12.50 avg60=4.10 avg300=1.00 total=987654\n"
    "full avg10=3.25 avg60=1.50 avg300=0.20 total=12345\n"
)
MEM = "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"


@pytest.fixture
def unified(tmp_path: Path) -> Path:
    mount = tmp_path / "fs" / "cgroup"
    group = mount / APP.lstrip("/")
    group.mkdir(parents=True)
    (mount / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (group / "cpu.pressure").write_text(CPU)
    (group / "memory.pressure").write_text(MEM)
    return tmp_path


def test_reads_some_and_full_of_the_focused_group(unified: Path) -> None:
    cpu = group_pressure(APP, "cpu", unified)
    assert cpu == {
        "cpu.some": PsiFigures(12.5, 4.1, 1.0, 987654),
        "cpu.full": PsiFigures(3.25, 1.5, 0.2, 12345),
    }
    memory = group_pressure(APP, "memory", unified)
    assert memory is not None and memory["memory.some"] == PsiFigures(0.0, 0.0, 0.0, 0)


def test_absent_file_is_none_not_zero(unified: Path) -> None:
    assert group_pressure(APP, "io", unified) is None
    assert group_pressure(APP + "-gone", "cpu", unified) is None
    assert read_group_pressure(unified / "nowhere") is None


def test_hybrid_unified_mount_is_found(tmp_path: Path) -> None:
    mount = tmp_path / "fs" / "cgroup" / "unified"
    (mount / "session-2.scope").mkdir(parents=True)
    (mount / "cgroup.controllers").write_text("")
    (mount / "session-2.scope" / "cpu.pressure").write_text(CPU)
    found = group_pressure("/session-2.scope", "cpu", tmp_path)
    assert found is not None and found["cpu.some"].avg10 == 12.5


def test_no_unified_hierarchy_or_bad_path_gives_none(unified: Path, tmp_path: Path) -> None:
    assert group_pressure(APP, "cpu", tmp_path / "elsewhere") is None
    assert group_pressure("user.slice", "cpu", unified) is None
    assert group_pressure("/user.slice/../../etc", "cpu", unified) is None


def test_this_machine_v1_gives_none_for_a_real_process() -> None:
    if Path("/sys/fs/cgroup/cgroup.controllers").exists():
        pytest.skip("this machine runs cgroup v2; the fake tree covers the reading")
    path = Path("/proc/self/cgroup").read_text().splitlines()[-1].split(":", 2)[2]
    expected = Path("/sys/fs/cgroup/unified", path.lstrip("/"), "cpu.pressure").exists()
    assert (group_pressure(path, "cpu") is not None) == expected
