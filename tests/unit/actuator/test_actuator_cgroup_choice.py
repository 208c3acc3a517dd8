"""backend_for: the one chooser, on the layout the collector's probe reads (fake v2 trees here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from smoothdesk.actuator import CgroupV1Backend, CgroupV2Backend, SystemdBackend, auto_choice, backend_for
from smoothdesk.collector.cgroups import probe_layout
from smoothdesk.core.cgroup_layout import CgroupLayout, CpuLever

NO_BUS = "unix:path=/nonexistent"


def tree(sys_root: Path, files: dict[str, str]) -> CgroupLayout:
    fs = sys_root / "fs" / "cgroup"
    fs.mkdir(parents=True, exist_ok=True)
    for rel, text in files.items():
        (fs / rel).parent.mkdir(parents=True, exist_ok=True)
        (fs / rel).write_text(text)
    return probe_layout(sys_root)


V2 = {"cgroup.controllers": "cpu io memory"}
HYBRID = {"cpu/cpu.shares": "1024", "cpu/tasks": "", "unified/cgroup.controllers": ""}


@pytest.mark.parametrize(
    ("files", "lever"),
    [
        (V2, "v2"),
        ({"cgroup.controllers": "memory pids"}, "none"),
        (HYBRID, "v1"),
        ({"cpu,cpuacct/cpu.shares": "1024"}, "v1"),
        ({"unified/cgroup.controllers": "cpu io"}, "none"),  # cpu on a v2 that is not the root
        ({"cpu/tasks": ""}, "none"),  # a cpu directory without cpu.shares
        ({}, "none"),
    ],
)
def test_the_cpu_lever_the_layout_offers(tmp_path: Path, files: dict[str, str], lever: CpuLever) -> None:
    assert tree(tmp_path, files).cpu_lever == lever


def test_auto_prefers_systemd_on_v2(tmp_path: Path) -> None:
    layout = tree(tmp_path / "sys", V2)
    run = tmp_path / "run"
    run.mkdir()
    backend = backend_for("auto", layout, user_mode=False, run_root=run)
    assert isinstance(backend, CgroupV2Backend)
    assert backend.mount == layout.root
    (run / "systemd" / "system").mkdir(parents=True)
    assert auto_choice(layout, run) == "systemd"
    backend = backend_for("auto", layout, user_mode=False, run_root=run, bus_address=NO_BUS)
    assert isinstance(backend, SystemdBackend)
    assert not backend.user
    backend.close(clean=True)


def test_auto_on_v1_and_none(tmp_path: Path) -> None:
    (tmp_path / "systemd" / "system").mkdir(parents=True)  # systemd does not help on v1
    layout = tree(tmp_path / "sys", {"cpu/tasks": ""})
    assert backend_for("auto", layout, user_mode=False, run_root=tmp_path) is None
    layout = tree(tmp_path / "sys", {"cpu/cpu.shares": "1024"})
    backend = backend_for("auto", layout, user_mode=False, run_root=tmp_path)
    assert isinstance(backend, CgroupV1Backend)
    assert backend.mount == layout.root / "cpu"


def test_auto_takes_the_hierarchy_that_has_cpu_shares(tmp_path: Path) -> None:
    layout = tree(tmp_path / "sys", {"cpuacct,cpu/cpu.shares": "1024"})
    backend = backend_for("auto", layout, user_mode=False, run_root=tmp_path)
    assert isinstance(backend, CgroupV1Backend)
    assert backend.mount == layout.root / "cpuacct,cpu"


def test_user_mode_uses_the_user_manager_or_nothing(tmp_path: Path) -> None:
    layout = tree(tmp_path / "sys", V2)
    for setting in ("auto", "v1", "v2"):  # cgroupfs belongs to root
        assert backend_for(setting, layout, user_mode=True, run_root=tmp_path) is None
    (tmp_path / "systemd" / "system").mkdir(parents=True)
    backend = backend_for("v1", layout, user_mode=True, run_root=tmp_path, bus_address=NO_BUS)
    assert isinstance(backend, SystemdBackend)
    assert backend.user
    backend.close(clean=True)
    hybrid = tree(tmp_path / "hybrid", HYBRID)
    assert backend_for("auto", hybrid, user_mode=True, run_root=tmp_path) is None


def test_the_setting_wins_over_the_layout_as_root(tmp_path: Path) -> None:
    (tmp_path / "systemd" / "system").mkdir(parents=True)
    layout = tree(tmp_path / "sys", V2)
    assert backend_for("off", layout, user_mode=False, run_root=tmp_path) is None
    v1 = backend_for("v1", layout, user_mode=False, run_root=tmp_path)
    assert isinstance(v1, CgroupV1Backend)
    assert v1.mount == layout.root / "cpu"
    hybrid = tree(tmp_path / "hybrid", HYBRID)
    v2 = backend_for("v2", hybrid, user_mode=False, run_root=tmp_path)
    assert isinstance(v2, CgroupV2Backend)
    assert v2.mount == hybrid.root
    forced = backend_for("systemd", hybrid, user_mode=False, run_root=tmp_path, bus_address=NO_BUS)
    assert isinstance(forced, SystemdBackend)
    forced.close(clean=True)


def test_this_machine_gets_the_v1_cgroupfs_backend() -> None:
    """cgroup v1 with an empty v2 at unified/ and no systemd: what the helper picks here."""
    layout = probe_layout()
    if layout.mode != "hybrid" or Path("/run/systemd/system").is_dir():
        pytest.skip(f"not this machine's layout ({layout.mode})")
    backend = backend_for("auto", layout, user_mode=False)
    assert isinstance(backend, CgroupV1Backend)
    assert backend.mount == layout.v1_cpu
    assert (backend.mount / "cpu.shares").exists()
