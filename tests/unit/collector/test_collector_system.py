"""SystemReader: CPU, memory, load, PSI, disks and network, on fake trees and for real."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from collector_fakes import DATA, write_cpu

from smoothdesk.collector.devices import block_devices, parse_scheduler, read_net
from smoothdesk.collector.system import SystemReader, parse_meminfo, parse_psi


def _disk_line(name: str, sectors_read: int, sectors_written: int, io_ms: int) -> str:
    return f"   8       0 {name} 10 0 {sectors_read} 5 20 0 {sectors_written} 7 0 {io_ms} 12 0 0 0 0 0 0\n"


def _write_disks(root: Path, rows: list[tuple[str, int, int, int]]) -> None:
    (root / "proc" / "diskstats").write_text("".join(_disk_line(*r) for r in rows))


def _write_net(root: Path, rows: list[tuple[str, int, int]]) -> None:
    head = "Inter-|   Receive\n face |bytes    packets\n"
    body = "".join(f"{name:>6}: {rx} 1 0 0 0 0 0 0 {tx} 1 0 0 0 0 0 0\n" for name, rx, tx in rows)
    (root / "proc" / "net" / "dev").write_text(head + body)


@pytest.fixture
def fake_root(tmp_path: Path) -> Path:
    proc = tmp_path / "proc"
    (proc / "net").mkdir(parents=True)
    (proc / "pressure").mkdir()
    write_cpu(proc, user=100, system=50, idle=800, iowait=50)
    (proc / "meminfo").write_text(
        "MemTotal:       2048 kB\nMemFree:         512 kB\nMemAvailable:   1024 kB\n"
        "SwapTotal:       100 kB\nSwapFree:         40 kB\nHugePages_Total:     0\n"
    )
    (proc / "loadavg").write_text("1.50 0.75 0.25 2/150 999\n")
    (proc / "pressure" / "cpu").write_text(
        "some avg10=12.50 avg60=3.00 avg300=1.00 total=123456\n"
        "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
    )
    block = tmp_path / "sys" / "block"
    for name, sched in (("sda", "none [mq-deadline] kyber bfq"), ("nvme0n1", "[none] bfq")):
        (block / name / "queue").mkdir(parents=True)
        (block / name / "queue" / "scheduler").write_text(sched + "\n")
    (block / "loop0" / "queue").mkdir(parents=True)
    (block / "zram0" / "queue").mkdir(parents=True)  # bio-based: no scheduler file
    _write_disks(
        tmp_path,
        [(name, 0, 0, 0) for name in ("sda", "sda1", "loop0", "nvme0n1", "zram0")],
    )
    _write_net(tmp_path, [("lo", 0, 0), ("eth0", 1000, 2000)])
    return tmp_path


def test_first_read_has_levels_but_no_rates(fake_root: Path) -> None:
    stats = SystemReader(fake_root).read(10.0)
    assert stats.ncpu == 2
    assert stats.cpu_busy == 0.0
    assert stats.running == 3
    assert (stats.mem_total, stats.mem_available) == (2048 * 1024, 1024 * 1024)
    assert (stats.swap_total, stats.swap_free) == (100 * 1024, 40 * 1024)
    assert stats.loadavg == (1.5, 0.75, 0.25)
    assert stats.psi_value("cpu") == 12.5
    assert stats.psi["cpu.some"].total == 123456
    assert "io.some" not in stats.psi  # missing file -> absent key
    assert {d.name: d.scheduler for d in stats.disks} == {
        "nvme0n1": "none",
        "sda": "mq-deadline",
        "zram0": "",
    }
    assert all(d.read_bytes_rate == 0 for d in stats.disks)
    assert [n.name for n in stats.net] == ["eth0"]
    assert stats.net[0].rx_bytes_rate == 0.0


def test_second_read_gives_rates(fake_root: Path) -> None:
    reader = SystemReader(fake_root)
    reader.read(10.0)
    # 2 s later: +300 user, +100 system, +500 idle, +100 iowait ticks (total 1000).
    write_cpu(fake_root / "proc", user=400, system=150, idle=1300, iowait=150)
    _write_disks(fake_root, [("sda", 4000, 2000, 500), ("sda1", 9, 9, 9), ("nvme0n1", 0, 0, 2000)])
    _write_net(fake_root, [("lo", 10**9, 10**9), ("eth0", 5000, 2000)])
    stats = reader.read(12.0)
    assert stats.cpu_busy == pytest.approx(40.0)
    assert stats.cpu_user == pytest.approx(30.0)
    assert stats.cpu_system == pytest.approx(10.0)
    assert stats.cpu_iowait == pytest.approx(10.0)
    assert reader.last_task_ticks == 400
    assert reader.last_interval == pytest.approx(2.0)
    disks = {d.name: d for d in stats.disks}
    assert disks["sda"].read_bytes_rate == pytest.approx(4000 * 512 / 2)
    assert disks["sda"].write_bytes_rate == pytest.approx(2000 * 512 / 2)
    assert disks["sda"].busy_percent == pytest.approx(25.0)
    assert disks["nvme0n1"].busy_percent == 100.0  # capped
    assert "sda1" not in disks
    assert stats.net[0].rx_bytes_rate == pytest.approx(2000.0)
    assert stats.net[0].tx_bytes_rate == 0.0


def test_missing_files_leave_defaults(tmp_path: Path) -> None:
    stats = SystemReader(tmp_path).read(1.0)
    assert stats.psi == {}
    assert stats.disks == ()
    assert stats.net == ()
    assert stats.mem_total == 0


def test_captured_samples_parse() -> None:
    mem = parse_meminfo((DATA / "meminfo").read_text())
    assert mem["MemTotal"] > mem["MemAvailable"] > 0
    assert mem["MemTotal"] % 1024 == 0
    psi = {}
    for res in ("cpu", "io", "memory"):
        psi.update(parse_psi(res, (DATA / "pressure" / res).read_text()))
    assert set(psi) == {f"{r}.{k}" for r in ("cpu", "io", "memory") for k in ("some", "full")}
    net = read_net((DATA / "net" / "dev").read_text())
    assert "lo" not in net
    assert "eth0" in net


def test_scheduler_parse() -> None:
    assert parse_scheduler("none [mq-deadline] kyber bfq\n") == "mq-deadline"
    assert parse_scheduler("[bfq] none") == "bfq"
    assert parse_scheduler("none\n") == "none"
    assert parse_scheduler("") == ""


def test_real_block_devices_exclude_loop_and_partitions() -> None:
    disks = block_devices()
    assert not any(name.startswith(("loop", "ram")) for name in disks)
    for name in disks:
        assert (Path("/sys/block") / name.replace("/", "!") / "queue").is_dir()


def test_real_reader_sees_a_busy_loop() -> None:
    reader = SystemReader()
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        reader.read(time.monotonic())
        time.sleep(0.5)
        stats = reader.read(time.monotonic())
    finally:
        busy.kill()
        busy.wait()
    assert stats.ncpu == os.cpu_count()
    # One spinning process keeps at least half of one core busy.
    assert stats.cpu_busy * stats.ncpu > 50.0
    assert reader.last_task_ticks > 0
    assert stats.mem_total > stats.mem_available > 0
    if Path("/proc/pressure/cpu").exists():
        assert "cpu.some" in stats.psi
