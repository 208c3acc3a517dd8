"""GPU use from DRM fdinfo on a fake /proc, /sys and /dev tree, and the real machine's honest "absent"."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from smoothdesk.collector.drm import parse_fdinfo, scan_drm_holders
from smoothdesk.collector.gpu import GpuReader

DATA = Path(__file__).resolve().parents[2] / "data" / "drm"
MiB = 1024**2
# pid -> fd -> device node, as the samples' README describes
FDS = {
    100: {5: "renderD128", 6: "renderD128", 7: "card0"},
    200: {9: "renderD128"},
    300: {9: "renderD128"},
    400: {0: "../null"},
    500: {4: "renderD129"},
}


def lay_out(root: Path, sample: str) -> None:
    """proc/PID/fd links and proc/PID/fdinfo files from the samples taken at `sample`."""
    for pid, fds in FDS.items():
        (root / "proc" / str(pid) / "fd").mkdir(parents=True, exist_ok=True)
        (root / "proc" / str(pid) / "fdinfo").mkdir(parents=True, exist_ok=True)
        for fd, node in fds.items():
            link = root / "proc" / str(pid) / "fd" / str(fd)
            if not link.is_symlink():
                os.symlink(os.path.normpath(f"/dev/dri/{node}"), link)
            src = DATA / sample / f"{pid}-{fd}"
            info = root / "proc" / str(pid) / "fdinfo" / str(fd)
            if src.exists():
                shutil.copyfile(src, info)
            else:
                info.write_text("pos:\t0\nflags:\t0100002\nmnt_id:\t22\nino:\t5\n")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "dev" / "dri").mkdir(parents=True)
    for node in ("card0", "renderD128", "renderD129"):
        (tmp_path / "dev" / "dri" / node).touch()
    card = tmp_path / "sys" / "class" / "drm" / "card0" / "device"
    card.mkdir(parents=True)
    (card / "gpu_busy_percent").write_text("37\n")
    (tmp_path / "sys" / "class" / "drm" / "card0-DP-1").mkdir()
    lay_out(tmp_path, "t0")
    return tmp_path


def test_parse_fdinfo_reads_engines_capacity_cycles_and_memory() -> None:
    client = parse_fdinfo((DATA / "t0" / "200-9").read_text())
    assert client is not None
    assert (client.driver, client.key) == ("i915", ("0000:00:02.0", 12))
    assert client.engines["render"] == 1_000_000_000 and client.capacity == {"video": 2}
    assert (client.memory_total, client.memory_resident) == (63 * MiB, 63 * MiB)
    legacy = parse_fdinfo((DATA / "t0" / "100-7").read_text())
    assert legacy is not None and legacy.memory_total == MiB
    cycles = parse_fdinfo((DATA / "t0" / "500-4").read_text())
    assert cycles is not None and cycles.maxfreq == {"fragment": 800_000_000}
    assert parse_fdinfo("pos:\t0\nflags:\t02\n") is None


def test_scan_finds_only_processes_holding_a_dri_fd(tree: Path) -> None:
    assert scan_drm_holders(tree / "proc") == {100: (5, 6, 7), 200: (9,), 300: (9,), 500: (4,)}


def test_two_reads_give_per_process_and_total_use_counting_shared_clients_once(tree: Path) -> None:
    reader = GpuReader(tree, nvml=False)
    assert reader.status.present and reader.status.sources == ("drm-fdinfo", "sysfs-gpu_busy_percent")
    first = reader.read(100.0)
    assert first.total == {} and first.processes[100].engines == {}  # a rate needs two reads
    assert first.busy_percent == 37.0  # until then only the card's own figure is known
    lay_out(tree, "t1")
    second = reader.read(102.0)
    p100, p200, p500 = (second.processes[p] for p in (100, 200, 500))
    # client 7 is open on fds 5 and 6: 0.5 s of render in 2 s is 25 %, not 50 %
    assert p100.engines["render"] == pytest.approx(25.0)
    assert p100.memory == 41 * MiB
    # client 12 is shared by 200 and its child 300: counted once, for the lower pid
    assert p200.engines["render"] == pytest.approx(50.0)
    assert p200.engines["video"] == pytest.approx(25.0)  # 1 s over two video engines
    assert 300 not in second.processes and 400 not in second.processes
    assert p500.engines == {"fragment": pytest.approx(25.0)}  # 400M cycles at 800 MHz in 2 s
    assert second.total["0000:00:02.0"]["render"] == pytest.approx(75.0)
    assert second.total["0000:00:02.0"]["video"] == pytest.approx(25.0)
    assert second.total["fde60000.gpu"] == {"fragment": pytest.approx(25.0)}
    assert second.busy_percent == pytest.approx(75.0)
    assert [c.name for c in second.cards] == ["card0"] and second.cards[0].busy_percent == 37.0


def test_tick_reads_only_cached_holders_until_a_rescan(tree: Path) -> None:
    reader = GpuReader(tree, nvml=False)
    reader.read(100.0)
    shutil.rmtree(tree / "proc" / "500")
    (tree / "proc" / "600" / "fd").mkdir(parents=True)
    (tree / "proc" / "600" / "fdinfo").mkdir()
    os.symlink("/dev/dri/renderD128", tree / "proc" / "600" / "fd" / "3")
    shutil.copyfile(DATA / "t0" / "500-4", tree / "proc" / "600" / "fdinfo" / "3")  # 500 passed its fd on
    assert set(reader.read(101.0).processes) == {100, 200}  # 500 gone and dropped; 600 not yet seen
    assert set(reader.read(102.0, rescan=True).processes) == {100, 200, 600}


def test_a_reused_client_id_with_lower_counters_gives_no_rate(tree: Path) -> None:
    reader = GpuReader(tree, nvml=False)
    lay_out(tree, "t1")
    reader.read(100.0)
    lay_out(tree, "t0")
    assert reader.read(102.0).processes[200].engines == {}  # client 12 only: counters went back


def test_empty_dri_directory_is_absent_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / "dev" / "dri").mkdir(parents=True)
    status = GpuReader(tmp_path, nvml=False).status
    assert not status.present
    assert status.reason.startswith("no GPU: ") and "has no render nodes" in status.reason


def test_this_machine_reports_its_gpu_honestly() -> None:
    reader = GpuReader()
    sample = reader.read(0.0, rescan=True)
    if Path("/dev/dri").is_dir() or Path("/sys/class/drm").is_dir():
        pytest.skip("this machine has DRM devices; the absent case is covered by the fake tree")
    assert not reader.status.present and sample.status == reader.status
    assert "/dev/dri does not exist" in reader.status.reason
    assert "nvidia-ml-py" in reader.status.reason or "NVML:" in reader.status.reason
    assert sample.busy_percent is None and sample.processes == {} and sample.cards == ()
