"""probe(): machine facts on fake trees, and on this machine checked against independent reads."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from smoothdesk.collector.capabilities import Finding, probe


def _write(root: Path, rel: str, text: str = "") -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _by_key(findings: list[Finding]) -> dict[str, Finding]:
    return {f.key: f for f in findings}


@pytest.fixture
def desktop(tmp_path: Path) -> Path:
    """A modern systemd desktop: cgroup v2 with cpu and io, bfq and none disks, evdev."""
    _write(tmp_path, "proc/sys/kernel/sched_autogroup_enabled", "1\n")
    _write(tmp_path, "sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory pids\n")
    _write(tmp_path, "sys/block/nvme0n1/queue/scheduler", "[none] mq-deadline bfq\n")
    _write(tmp_path, "sys/block/sda/queue/scheduler", "mq-deadline kyber [bfq] none\n")
    _write(tmp_path, "sys/block/loop0/queue/scheduler", "[none]\n")
    for res in ("cpu", "io", "memory"):
        _write(tmp_path, f"proc/pressure/{res}", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")
    _write(tmp_path, "dev/input/event0")
    _write(tmp_path, "dev/input/event1")
    _write(tmp_path, "usr/libexec/polkitd")
    (tmp_path / "usr/share/polkit-1/actions").mkdir(parents=True)
    (tmp_path / "run/systemd/system").mkdir(parents=True)
    _write(tmp_path, "sys/kernel/sched_ext/state", "disabled\n")
    return tmp_path


def test_modern_desktop(desktop: Path) -> None:
    found = _by_key(probe(desktop))
    assert found["autogroup"].status == "info"
    assert "autogroup nice" in found["autogroup"].meaning
    assert found["sched_ext"].status == "ok"
    assert found["cgroup"].status == "ok"
    assert "v2" in found["cgroup"].summary
    assert found["cgroup.cpu_idle"].status == "ok"
    assert found["io_scheduler.nvme0n1"].status == "warn"
    assert "ionice has no effect" in found["io_scheduler.nvme0n1"].meaning
    assert found["io_scheduler.sda"].status == "ok"
    assert "io_scheduler.loop0" not in found
    assert found["psi"].status == "ok"
    assert found["evdev"].status == "ok"
    assert found["evdev"].summary.startswith("2 of 2")
    assert found["polkit"].status == "ok"
    assert found["systemd"].status == "ok"
    assert found["netlink"].status == "info"  # never probed against a fake root
    assert all(f.status in {"ok", "warn", "missing", "info"} for f in found.values())


def test_active_bpf_scheduler_warns(desktop: Path) -> None:
    _write(desktop, "sys/kernel/sched_ext/state", "enabled\n")
    _write(desktop, "sys/kernel/sched_ext/root/ops", "rusty\n")
    finding = _by_key(probe(desktop))["sched_ext"]
    assert finding.status == "warn"
    assert "rusty" in finding.summary
    assert "nice" in finding.meaning


def test_v2_without_cpu_and_io_controllers_warns(desktop: Path) -> None:
    _write(desktop, "sys/fs/cgroup/cgroup.controllers", "memory pids\n")
    found = _by_key(probe(desktop))
    assert found["cgroup"].status == "warn"
    assert found["cgroup.cpu_idle"].status == "missing"


def test_bare_machine(tmp_path: Path) -> None:
    """No autogroup, no cgroups, no PSI, no input, no polkit, no systemd."""
    found = _by_key(probe(tmp_path))
    assert found["autogroup"].status == "ok"
    assert found["cgroup"].status == "missing"
    assert found["psi"].status == "missing"
    assert found["evdev"].status == "missing"
    assert found["polkit"].status == "missing"
    assert "fails closed" in found["polkit"].meaning
    assert found["systemd"].status == "info"
    assert found["io_scheduler"].status == "info"


def test_hybrid_v1_with_cpu_idle(tmp_path: Path) -> None:
    for ctl in ("cpu", "blkio", "memory", "systemd"):
        (tmp_path / "sys/fs/cgroup" / ctl).mkdir(parents=True)
    _write(tmp_path, "sys/fs/cgroup/cpu/cpu.idle", "0\n")
    _write(tmp_path, "sys/fs/cgroup/unified/cgroup.controllers", "\n")
    _write(tmp_path, "proc/pressure/cpu", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")
    found = _by_key(probe(tmp_path))
    assert found["cgroup"].status == "info"
    assert "hybrid" in found["cgroup"].summary
    assert "cpu.shares" in found["cgroup"].meaning
    assert found["cgroup.cpu_idle"].status == "ok"
    assert found["psi"].status == "warn"  # only cpu


def test_this_machine_matches_independent_reads() -> None:
    found = _by_key(probe())
    autogroup = Path("/proc/sys/kernel/sched_autogroup_enabled")
    if autogroup.exists():
        expected = "info" if autogroup.read_text().strip() == "1" else "ok"
        assert found["autogroup"].status == expected
    assert (found["psi"].status == "ok") == all(
        Path(f"/proc/pressure/{r}").exists() for r in ("cpu", "io", "memory")
    )
    assert (found["systemd"].status == "ok") == Path("/run/systemd/system").is_dir()
    has_events = any(Path("/dev/input").glob("event*")) if Path("/dev/input").is_dir() else False
    assert (found["evdev"].status != "missing") == has_events
    for name in os.listdir("/sys/block"):
        scheduler_file = Path("/sys/block", name, "queue", "scheduler")
        key = f"io_scheduler.{name.replace('!', '/')}"
        if name.startswith(("loop", "ram")):
            assert key not in found
        elif scheduler_file.exists() and "[none]" in scheduler_file.read_text():
            assert found[key].status == "warn"
    if os.geteuid() == 0:
        assert found["netlink"].status == "ok"


def test_custom_slices_are_probed_live_only(desktop: Path) -> None:
    assert _by_key(probe(desktop))["slices"].status == "info"
    found = _by_key(probe())["slices"]
    release = tuple(int(x) for x in os.uname().release.split(".")[:2])
    # Independent of the probe: EEVDF with sched_runtime as the slice came with Linux 6.12.
    assert (found.status != "warn") == (release >= (6, 12)), found
    assert "shorter slice" in found.meaning


def test_a_kernel_that_ignores_custom_slices_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    # Stands in for a kernel older than 6.12, which this machine cannot show.
    from smoothdesk.actuator import slices
    from smoothdesk.actuator.slices import SliceSupport
    from smoothdesk.collector import capabilities

    monkeypatch.setattr(
        slices, "probe_support", lambda: SliceSupport(False, 0, "a 250 us slice read back as 0 us")
    )
    found = capabilities.probe_slices(Path("/"))
    assert found.status == "warn"
    assert "does not honour" in found.summary
    assert "read back as 0 us" in found.summary
    assert "6.12" in found.meaning


def test_timer_slack_is_found_where_the_kernel_exposes_it(desktop: Path) -> None:
    assert _by_key(probe(desktop))["timer_slack"].status == "missing"  # no such file: an old kernel
    _write(desktop, "proc/self/timerslack_ns", "50000\n")
    found = _by_key(probe(desktop))["timer_slack"]
    assert (found.status, found.summary) == (
        "ok",
        "timer slack can be set per thread (this process's: 50 us)",
    )


def test_timer_slack_on_this_machine_matches_prctl() -> None:
    import ctypes

    own = ctypes.CDLL(None).prctl(30, 0, 0, 0, 0)  # PR_GET_TIMERSLACK, read independently
    assert f"this process's: {own // 1000} us" in _by_key(probe(Path("/")))["timer_slack"].summary
