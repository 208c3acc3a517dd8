"""cgroup line parsing, systemd unit extraction and the machine's cgroup layout."""

from __future__ import annotations

from pathlib import Path

import pytest

from smoothdesk.collector.cgroups import parse_cgroup, probe_layout, unit_of

APP_SCOPE = "/user.slice/user-1000.slice/user@1000.service/app.slice/app-firefox-1234.scope"


@pytest.mark.parametrize(
    ("path", "unit"),
    [
        (APP_SCOPE, "app-firefox-1234.scope"),
        ("/system.slice/cron.service", "cron.service"),
        ("/user.slice/user-1000.slice/session-2.scope", "session-2.scope"),
        ("/user.slice/user-1000.slice/user@1000.service/app.slice", "user@1000.service"),
        ("/init.scope", "init.scope"),
        ("/user.slice", None),
        ("/", None),
        ("", None),
    ],
)
def test_unit_of(path: str, unit: str | None) -> None:
    assert unit_of(path) == unit


def test_v2_path_wins_when_not_root() -> None:
    info = parse_cgroup(f"12:cpu,cpuacct:/other\n1:name=systemd:/elsewhere\n0::{APP_SCOPE}\n")
    assert info.path == APP_SCOPE
    assert info.unit == "app-firefox-1234.scope"


def test_named_systemd_path_when_v2_is_root() -> None:
    info = parse_cgroup("4:cpu,cpuacct:/cpu-path\n1:name=systemd:/system.slice/cron.service\n0::/\n")
    assert info == ("/system.slice/cron.service", "cron.service")


def test_cpu_controller_path_as_last_resort() -> None:
    info = parse_cgroup("3:memory:/m\n2:cpuacct,cpu:/batch/jobs\n1:name=systemd:/\n0::/\n")
    assert info == ("/batch/jobs", None)


def test_all_root_gives_root_and_no_unit() -> None:
    # What every process on this machine shows (v1 + empty v2, no systemd).
    assert parse_cgroup("9:name=systemd:/\n1:cpu:/\n0::/\n") == ("/", None)


def test_empty_and_malformed() -> None:
    assert parse_cgroup("") == ("", None)
    assert parse_cgroup("garbage\n\n0::/a/b.service\n") == ("/a/b.service", "b.service")


def test_colons_inside_path_are_kept() -> None:
    assert parse_cgroup("0::/odd:name.scope\n") == ("/odd:name.scope", "odd:name.scope")


def _v1(base: Path, *names: str) -> None:
    for name in names:
        (base / name).mkdir(parents=True)
        (base / name / "tasks").write_text("")


def test_mode_v2(tmp_path: Path) -> None:
    cg = tmp_path / "fs" / "cgroup"
    cg.mkdir(parents=True)
    (cg / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    layout = probe_layout(tmp_path)
    assert layout.mode == "v2"
    assert layout.unified == cg
    assert layout.v1_controllers == ()
    assert layout.v2_controllers == ("cpuset", "cpu", "io", "memory", "pids")


def test_mode_hybrid(tmp_path: Path) -> None:
    cg = tmp_path / "fs" / "cgroup"
    _v1(cg, "cpu,cpuacct", "blkio", "systemd")
    (cg / "unified").mkdir()
    (cg / "unified" / "cgroup.controllers").write_text("\n")
    layout = probe_layout(tmp_path)
    assert layout.mode == "hybrid"
    assert layout.unified == cg / "unified"
    assert layout.v1_controllers == ("blkio", "cpu", "cpuacct")
    assert layout.v2_controllers == ()


def test_mode_v1_and_none(tmp_path: Path) -> None:
    assert probe_layout(tmp_path).mode == "none"
    cg = tmp_path / "fs" / "cgroup"
    cg.mkdir(parents=True)
    assert probe_layout(tmp_path).mode == "none"
    _v1(cg, "cpu", "memory")
    layout = probe_layout(tmp_path)
    assert (layout.mode, layout.unified, layout.v1_controllers) == ("v1", None, ("cpu", "memory"))
    assert layout.v1_cpu is None  # no cpu.shares: not a cpu hierarchy the actuator can weight
    (cg / "cpu" / "cpu.shares").write_text("1024\n")
    assert probe_layout(tmp_path).v1_cpu == cg / "cpu"


def test_mode_v2_only_at_unified(tmp_path: Path) -> None:
    cg = tmp_path / "fs" / "cgroup"
    (cg / "unified").mkdir(parents=True)
    (cg / "unified" / "cgroup.controllers").write_text("cpu io\n")
    layout = probe_layout(tmp_path)
    assert (layout.mode, layout.unified, layout.v2_controllers) == ("v2", cg / "unified", ("cpu", "io"))


def _expected_mode_from_mounts() -> str:
    """The layout as /proc/mounts tells it, computed independently of probe_layout."""
    v2_at: set[str] = set()
    v1 = False
    for line in Path("/proc/mounts").read_text().splitlines():
        _dev, where, fstype, *_ = line.split()
        if fstype == "cgroup2":
            v2_at.add(where)
        elif fstype == "cgroup" and where.startswith("/sys/fs/cgroup/"):
            v1 = True
    if "/sys/fs/cgroup" in v2_at:
        return "v2"
    if v1:
        return "hybrid" if "/sys/fs/cgroup/unified" in v2_at else "v1"
    return "none"


def test_real_machine_mode_matches_mounts() -> None:
    assert probe_layout().mode == _expected_mode_from_mounts()


def test_real_machine_v1_controllers_match_proc_cgroups() -> None:
    """Every controller /proc/cgroups places on a v1 hierarchy (id > 0) is listed."""
    enabled_v1 = set()
    for line in Path("/proc/cgroups").read_text().splitlines()[1:]:
        name, hierarchy, _num, enabled = line.split()
        if hierarchy != "0" and enabled == "1":
            enabled_v1.add(name)
    layout = probe_layout()
    listed = set(layout.v1_controllers)
    if layout.mode == "v2":
        assert listed == set()
    else:
        assert enabled_v1 <= listed
