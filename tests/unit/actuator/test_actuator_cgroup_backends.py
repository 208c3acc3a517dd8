"""cgroupfs backends against fake trees (this machine cannot show v2 controllers)."""

from __future__ import annotations

from pathlib import Path

from smoothdesk.actuator import (
    CgroupV1Backend,
    CgroupV2Backend,
    LeverSet,
    SystemdBackend,
)
from smoothdesk.core import PriorityClass, ProcessRecord, ProcKey

IDLE = LeverSet(cpu_weight=1, cpu_idle=True, io_weight=1)
BG = LeverSet(cpu_weight=10, io_weight=10)


def fake_proc(root: Path, pid: int, cgroup_lines: str) -> ProcessRecord:
    (root / str(pid)).mkdir(parents=True)
    (root / str(pid) / "cgroup").write_text(cgroup_lines)
    return ProcessRecord(pid=pid, ppid=1, uid=0, comm="cc1plus", start_time=4242)


def v2_tree(tmp_path: Path) -> Path:
    fs = tmp_path / "sys" / "fs" / "cgroup"
    (fs / "user" / "session-2").mkdir(parents=True)
    (fs / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    return fs


def test_v2_moves_into_class_group_with_weights(tmp_path: Path) -> None:
    fs = v2_tree(tmp_path)
    rec = fake_proc(tmp_path / "proc", 300, "0::/user/session-2\n")
    backend = CgroupV2Backend(fs, proc_root=tmp_path / "proc")
    target = backend.target(rec)
    assert target == "pid:300@4242"
    original = backend.capture(target, rec)
    assert original == {"path": "/user/session-2"}

    backend.demote(target, rec, PriorityClass.IDLE, IDLE)
    group = fs / "smoothdesk" / "idle"
    assert (group / "cgroup.procs").read_text() == "300"
    assert (group / "cpu.weight").read_text() == "1"
    assert (group / "cpu.idle").read_text() == "1"
    assert (group / "io.weight").read_text() == "default 1"
    # cpu and io must be enabled for the children of the root and of our prefix group.
    assert (fs / "cgroup.subtree_control").read_text() == "+cpu +io"
    assert (fs / "smoothdesk" / "cgroup.subtree_control").read_text() == "+cpu +io"

    backend.restore(target, original, ProcKey(300, 4242))
    assert (fs / "user" / "session-2" / "cgroup.procs").read_text() == "300"


def test_v2_restore_falls_back_to_nearest_existing_ancestor(tmp_path: Path) -> None:
    fs = v2_tree(tmp_path)
    backend = CgroupV2Backend(fs, proc_root=tmp_path / "proc")
    backend.restore("pid:9@1", {"path": "/user/session-2/gone/deeper"}, ProcKey(9, 1))
    assert (fs / "user" / "session-2" / "cgroup.procs").read_text() == "9"


def test_v2_demote_is_idempotent_when_already_in_place(tmp_path: Path) -> None:
    fs = v2_tree(tmp_path)
    rec = fake_proc(tmp_path / "proc", 301, "0::/smoothdesk/background\n")
    backend = CgroupV2Backend(fs, proc_root=tmp_path / "proc")
    backend.demote("pid:301@4242", rec, PriorityClass.BACKGROUND, BG)
    assert not (fs / "smoothdesk").exists()


def test_v1_orders_shares_before_idle_and_reads_cpu_line(tmp_path: Path) -> None:
    mount = tmp_path / "cpu"
    mount.mkdir()
    (mount / "cpu.idle").write_text("0")
    rec = fake_proc(tmp_path / "proc", 302, "2:cpuacct:/\n1:cpu:/user/a\n0::/\n")
    backend = CgroupV1Backend(mount, proc_root=tmp_path / "proc", block_root=tmp_path / "block")
    target = backend.target(rec)
    assert target is not None
    assert backend.capture(target, rec) == {"path": "/user/a"}
    backend.demote(target, rec, PriorityClass.BACKGROUND, BG)
    group = mount / "smoothdesk" / "background"
    assert (group / "cpu.shares").read_text() == str(10 * 1024 // 100)
    assert (group / "cgroup.procs").read_text() == "302"
    assert not (group / "cpu.idle").exists()


def test_v1_blkio_reported_only_with_bfq(tmp_path: Path) -> None:
    mount = tmp_path / "cpu"
    mount.mkdir()
    sched = tmp_path / "block" / "vda" / "queue"
    sched.mkdir(parents=True)
    (sched / "scheduler").write_text("none [mq-deadline] kyber bfq\n")
    backend = CgroupV1Backend(mount, block_root=tmp_path / "block")
    assert backend.capabilities()["blkio.weight"].startswith("no")
    (sched / "scheduler").write_text("none mq-deadline kyber [bfq]\n")
    assert backend.capabilities()["blkio.weight"] == "yes (vda)"


def test_close_clean_removes_only_empty_groups(tmp_path: Path) -> None:
    fs = v2_tree(tmp_path)
    (fs / "smoothdesk" / "idle").mkdir(parents=True)
    (fs / "smoothdesk" / "background").mkdir()
    CgroupV2Backend(fs).close(clean=True)
    assert not (fs / "smoothdesk").exists()


def test_systemd_targets_only_app_scopes_and_services() -> None:
    backend = SystemdBackend(bus_address="unix:path=/nonexistent")
    rec = ProcessRecord(pid=5, ppid=1, uid=1000, comm="x", start_time=1)
    assert backend.target(rec) is None
    rec.unit = "app-gnome-firefox-1234.scope"
    assert backend.target(rec) == "unit:app-gnome-firefox-1234.scope"
    rec.unit = "session-2.scope"
    assert backend.target(rec) is None
    rec.unit = "packagekit.service"
    assert backend.target(rec) == "unit:packagekit.service"


def test_prefix_group_is_always_idle_and_children_rank_inside(tmp_path: Path) -> None:
    """cpu.idle and weights only rank siblings: the parent carries idleness to the root."""
    fs = v2_tree(tmp_path)
    proc = tmp_path / "proc"
    backend = CgroupV2Backend(fs, proc_root=proc)
    idle = fake_proc(proc, 310, "0::/\n")
    backend.demote("pid:310@4242", idle, PriorityClass.IDLE, IDLE)
    parent = fs / "smoothdesk"
    assert (parent / "cpu.idle").read_text() == "1"
    bg = fake_proc(proc, 311, "0::/\n")
    backend.demote("pid:311@4242", bg, PriorityClass.BACKGROUND, BG)
    assert (parent / "cpu.idle").read_text() == "1"
    assert not (parent / "cpu.weight").exists()
    assert (parent / "background" / "cpu.weight").read_text() == "10"
    assert (parent / "idle" / "cpu.idle").read_text() == "1"
