"""schedstat with real processes: a busy sibling makes a waker's CPU wait rise; exited threads drop out."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from smoothdesk.collector.schedstat import CpuWait, SchedstatReader
from smoothdesk.core.process import ProcessRecord
from tests.support.procs import named_binary, spawn_hog, stop, wait_for

# Sleeps 4 ms, then does 1 ms of CPU work: a frame or a keystroke.
WAKER = (
    "import time\n"
    "while True:\n"
    "    time.sleep(0.004)\n"
    "    end = time.thread_time() + 0.001\n"
    "    while time.thread_time() < end: pass\n"
)


def record(pid: int) -> ProcessRecord:
    threads = len(os.listdir(f"/proc/{pid}/task"))
    start = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    uid = os.geteuid()
    return ProcessRecord(pid=pid, ppid=os.getpid(), uid=uid, comm="waker", start_time=start, threads=threads)


def measure(reader: SchedstatReader, rec: ProcessRecord, seconds: float) -> CpuWait:
    reader.read({"focus": [rec]})
    time.sleep(seconds)
    return reader.read({"focus": [rec]})["focus"]


def test_a_busy_sibling_makes_the_measured_process_wait(tmp_path: Path) -> None:
    cpu = max(os.sched_getaffinity(0))
    waker = subprocess.Popen([sys.executable, "-c", WAKER])
    hogs: list[subprocess.Popen[bytes]] = []
    try:
        os.sched_setaffinity(waker.pid, {cpu})
        rec = record(waker.pid)
        reader = SchedstatReader()
        reader.read({"focus": [rec]})
        time.sleep(0.3)
        alone = measure(reader, rec, 1.5)
        binary = named_binary(tmp_path, "sibling-hog")
        for _ in range(2):
            hog = spawn_hog(binary)
            hogs.append(hog)
            os.sched_setaffinity(hog.pid, {cpu})
            if os.geteuid() == 0:  # above the waker, so that other load on the machine cannot hide it
                os.setpriority(os.PRIO_PROCESS, hog.pid, -5)
        crowded = measure(reader, rec, 1.5)
        reader.close()
    finally:
        stop(*hogs)
        stop(waker)  # type: ignore[arg-type]
    assert alone.threads == crowded.threads == 1
    assert crowded.slices > 0 and alone.slices > 0
    assert crowded.wait_ms_per_s > 100.0, (alone, crowded)
    assert crowded.wait_ns > 1.5 * alone.wait_ns, (alone, crowded)
    assert crowded.worst_ns > alone.worst_ns, (alone, crowded)
    assert crowded.top_share > alone.top_share


def test_an_exited_thread_reads_as_gone_not_as_zero() -> None:
    script = (
        "import threading, time\n"
        "t = threading.Thread(target=time.sleep, args=(0.6,)); t.start()\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        with proc.stdout:
            assert proc.stdout.readline() == b"ready\n"
        rec = record(proc.pid)
        assert rec.threads == 2
        reader = SchedstatReader()
        reader.read({"focus": [rec]})
        assert reader.open_fds == 2
        assert wait_for(lambda: len(os.listdir(f"/proc/{proc.pid}/task")) == 1, timeout=5)
        # The held fd of the exited thread reads ESRCH: it is dropped, the live one still counts.
        wait = reader.read({"focus": [rec]})["focus"]
        assert reader.open_fds == 1
        assert wait.threads <= 1
        reader.close()
    finally:
        stop(proc)  # type: ignore[arg-type]
