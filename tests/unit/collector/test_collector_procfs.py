"""Per-process readers against captured samples, fake trees and real processes."""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

import pytest
from collector_fakes import DATA, FakeProc

from smoothdesk.collector.errors import CollectorError
from smoothdesk.collector.ioprio import IOPRIO_CLASS_IDLE, ioprio_class
from smoothdesk.collector.procfs import (
    parse_autogroup,
    parse_cpu_list,
    parse_stat,
    read_io,
    read_process,
    read_stat,
)

PROC = Path("/proc")
PAGE = os.sysconf("SC_PAGE_SIZE")
TCK = os.sysconf("SC_CLK_TCK")


def test_comm_with_spaces_and_parentheses_is_parsed_whole() -> None:
    stat = read_stat(DATA, 4242)
    assert stat is not None
    assert stat.comm == "my) (app x"
    assert (stat.pid, stat.state, stat.ppid, stat.pgrp, stat.session) == (
        4242,
        "S",
        17591,
        17591,
        2107,
    )
    assert stat.start_time == 110201
    assert not stat.kernel_thread


def test_kernel_thread_flag() -> None:
    stat = read_stat(DATA, 2)
    assert stat is not None
    assert stat.comm == "kthreadd"
    assert stat.kernel_thread
    record = read_process(DATA, 2, TCK, PAGE, 2)
    assert record is not None
    assert record.kernel_thread
    assert record.exe == ""
    assert record.cmdline == ()
    assert record.autogroup is None


def test_missing_process_gives_none(tmp_path: Path) -> None:
    assert read_stat(tmp_path, 99999) is None
    assert read_process(tmp_path, 99999, TCK, PAGE, 2) is None


def test_zombie_has_stat_but_no_full_record(tmp_path: Path) -> None:
    FakeProc(12, state="Z").write(tmp_path)
    stat = read_stat(tmp_path, 12)
    assert stat is not None
    assert stat.state == "Z"
    assert read_process(tmp_path, 12, TCK, PAGE, 2) is None


def test_malformed_stat_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "7").mkdir()
    (tmp_path / "7" / "stat").write_text("7 no-parens S 1\n")
    with pytest.raises(CollectorError, match=r"7/stat"):
        read_stat(tmp_path, 7)


def test_nice_affinity_and_ioprio_from_captured_taskset_nice_ionice_sleep() -> None:
    record = read_process(DATA, 4243, TCK, PAGE, 2)
    assert record is not None
    assert record.comm == "sleep"
    assert record.nice == 5
    assert record.affinity_restricted  # Cpus_allowed_list: 0 of 2 online
    assert record.ioprio is not None
    assert ioprio_class(record.ioprio) == IOPRIO_CLASS_IDLE
    assert record.cmdline == ("sleep", "300")
    assert record.exe == "/usr/bin/sleep"
    # With one CPU online the same list is not a restriction.
    single = read_process(DATA, 4243, TCK, PAGE, 1)
    assert single is not None
    assert not single.affinity_restricted


def test_app_scope_process() -> None:
    record = read_process(DATA, 4244, TCK, PAGE, 2)
    assert record is not None
    assert record.uid == 1000
    assert record.unit == "app-firefox-1234.scope"
    assert record.cgroup.endswith("/app.slice/app-firefox-1234.scope")
    assert record.cmdline == ("/usr/lib/firefox/firefox", "--new-window", "https://example.org")
    assert (record.autogroup, record.autogroup_nice) == (57, 0)
    assert record.ioprio == 16388
    assert record.cpu_ticks_total == 150
    assert record.name == "firefox"
    assert not record.affinity_restricted


def test_service_on_hybrid_layout_uses_named_systemd_path() -> None:
    record = read_process(DATA, 4245, TCK, PAGE, 2)
    assert record is not None
    assert record.cgroup == "/system.slice/cron.service"
    assert record.unit == "cron.service"
    assert record.ppid == 1


def test_fake_tree_without_ioprio_file_gives_none(tmp_path: Path) -> None:
    FakeProc(10, io=(4096, 8192), rss_pages=3).write(tmp_path)
    record = read_process(tmp_path, 10, TCK, PAGE, 2)
    assert record is not None
    assert record.ioprio is None
    assert record.rss == 3 * PAGE
    assert read_io(tmp_path, 10) == (4096, 8192)


def test_thread_id_is_not_a_process() -> None:
    ready = threading.Event()
    stop = threading.Event()
    tids: list[int] = []

    def worker() -> None:
        tids.append(threading.get_native_id())
        ready.set()
        stop.wait(10)

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        ready.wait(5)
        tid = tids[0]
        assert tid != os.getpid()
        assert read_stat(PROC, tid) is not None  # /proc/TID exists, unlisted
        assert read_process(PROC, tid, TCK, PAGE, os.cpu_count() or 1) is None
        assert read_process(PROC, os.getpid(), TCK, PAGE, os.cpu_count() or 1) is not None
    finally:
        stop.set()
        thread.join()


def test_real_process_under_nice_and_ionice() -> None:
    proc = subprocess.Popen(["nice", "-n", "7", "ionice", "-c", "3", "sleep", "30"])
    try:
        record = None
        for _ in range(50):
            record = read_process(PROC, proc.pid, TCK, PAGE, os.cpu_count() or 1)
            if record is not None and record.comm == "sleep":
                break
            threading.Event().wait(0.02)
        assert record is not None
        assert record.comm == "sleep"
        assert record.cmdline == ("sleep", "30")
        assert record.exe.endswith("/sleep")
        assert record.nice == 7
        assert record.uid == os.getuid()
        assert record.ioprio is not None
        assert ioprio_class(record.ioprio) == IOPRIO_CLASS_IDLE
        assert record.ppid == os.getpid()
        stat = read_stat(PROC, proc.pid)
        assert stat is not None
        assert stat.start_time == record.start_time
    finally:
        proc.kill()
        proc.wait()
    assert read_stat(PROC, proc.pid) is None


@pytest.mark.root
def test_refused_exe_and_io_read_as_empty_for_an_unprivileged_reader() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to switch to an unprivileged user with setpriv")
    repo = Path(__file__).resolve().parents[3]
    script = (
        "import sys, os\n"
        f"sys.path.insert(0, {str(repo)!r})\n"
        "from pathlib import Path\n"
        "from smoothdesk.collector.procfs import read_process\n"
        "try:\n"
        "    os.readlink('/proc/1/exe'); print('exe readable')\n"
        "except PermissionError: print('exe EACCES')\n"
        "try:\n"
        "    open('/proc/1/io').read(); print('io readable')\n"
        "except PermissionError: print('io EACCES')\n"
        "r = read_process(Path('/proc'), 1, 100, 4096, 1)\n"
        "print(repr(r.exe), r.cmdline != ())\n"
    )
    out = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3"],
        input=script,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.split("\n")
    assert out[0] == "exe EACCES"
    assert out[1] == "io EACCES"
    assert out[2] == "'' True"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0-3,8,10-11\n", {0, 1, 2, 3, 8, 10, 11}), ("0", {0}), ("", set())],
)
def test_cpu_list(text: str, expected: set[int]) -> None:
    assert parse_cpu_list(text) == expected


def test_autogroup_parse() -> None:
    assert parse_autogroup("/autogroup-12 nice -3\n") == (12, -3)
    assert parse_autogroup("") is None
    assert parse_autogroup("/autogroup-x nice 0") is None


def test_parse_stat_handles_newline_in_comm() -> None:
    raw = b"55 (a\nb) R 1 55 55 0 -1 0" + b" 0" * 44 + b"\n"
    stat = parse_stat(raw)
    assert stat.comm == "a\nb"
    assert stat.state == "R"
