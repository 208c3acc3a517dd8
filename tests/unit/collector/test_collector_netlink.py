"""The netlink proc connector: message parsing, and real events from real processes."""

from __future__ import annotations

import errno
import os
import select
import shutil
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from smoothdesk.collector.errors import CollectorError
from smoothdesk.collector.netlink import ProcConnector, ProcEvent, parse_event
from smoothdesk.collector.tracker import ProcessTable

REPO = Path(__file__).resolve().parents[3]


def _message(what: int, data: bytes, ts: int = 123_000_000_000) -> bytes:
    event = struct.pack("=IIQ", what, 1, ts) + data
    event += b"\0" * (40 - len(data))  # the union is padded to its largest member
    cn = struct.pack("=IIIIHH", 1, 1, 0, 0, len(event), 0)
    return struct.pack("=IHHII", 16 + len(cn) + len(event), 3, 0, 0, 0) + cn + event


def test_parse_fork_of_a_process_and_of_a_thread() -> None:
    event = parse_event(_message(0x1, struct.pack("=iiii", 100, 100, 200, 200)))
    assert event == ProcEvent("fork", 100, 123_000_000_000, child_pid=200, parent_tid=100)
    # Forked by thread 101 of process 100: the child inherited that thread's nice and ioprio.
    by_thread = parse_event(_message(0x1, struct.pack("=iiii", 101, 100, 202, 202)))
    assert by_thread == ProcEvent("fork", 100, 123_000_000_000, child_pid=202, parent_tid=101)
    assert event.timestamp == pytest.approx(123.0)
    # clone(CLONE_THREAD): child pid 201 in thread group 100.
    assert parse_event(_message(0x1, struct.pack("=iiii", 100, 100, 201, 100))) is None


def test_parse_exec_exit_comm_uid() -> None:
    exec_event = parse_event(_message(0x2, struct.pack("=ii", 300, 300)))
    assert exec_event is not None
    assert (exec_event.kind, exec_event.pid) == ("exec", 300)
    exit_event = parse_event(_message(0x80000000, struct.pack("=iiII", 300, 300, 256, 17)))
    assert exit_event is not None
    assert (exit_event.kind, exit_event.pid, exit_event.exit_code, exit_event.exit_signal) == (
        "exit",
        300,
        256,
        17,
    )
    # A thread exiting is not the process exiting.
    assert parse_event(_message(0x80000000, struct.pack("=iiII", 301, 300, 0, 0))) is None
    comm = parse_event(_message(0x200, struct.pack("=ii16s", 300, 300, b"renamed\0junk")))
    assert comm is not None
    assert comm.comm == "renamed"
    assert parse_event(_message(0x200, struct.pack("=ii16s", 301, 300, b"worker"))) is None
    uid = parse_event(_message(0x4, struct.pack("=iiII", 300, 300, 1000, 0)))
    assert uid is not None
    assert uid.uid == 1000


def test_ack_and_unknown_kinds_are_skipped() -> None:
    assert parse_event(_message(0x0, struct.pack("=I", 0))) is None
    assert parse_event(_message(0x12345, b"")) is None


def _ack(ack: int, err: int) -> bytes:
    event = struct.pack("=IIQI", 0, 0xFFFFFFFF, 1, err) + b"\0" * 36
    cn = struct.pack("=IIIIHH", 1, 1, 0, ack, len(event), 0)
    return struct.pack("=IHHII", 16 + len(cn) + len(event), 3, 0, 0, 0) + cn + event


def test_only_our_ack_counts_and_its_error_is_reported() -> None:
    ours, kernel = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    with ours, kernel:
        kernel.send(_ack(41, 0))  # another listener's successful subscription
        with pytest.raises(CollectorError, match="did not acknowledge"):
            ProcConnector._await_ack(ours, 0.2, 8)
        kernel.send(_ack(41, 0))
        kernel.send(_ack(8, errno.EPERM))
        with pytest.raises(CollectorError, match=os.strerror(errno.EPERM)):
            ProcConnector._await_ack(ours, 1.0, 8)
        kernel.send(_ack(8, 0))
        ProcConnector._await_ack(ours, 1.0, 8)
        ours.setblocking(False)
        with pytest.raises(BlockingIOError):
            ours.recv(100)  # it consumed exactly the ack it waited for


def test_unopened_connector_refuses_use() -> None:
    connector = ProcConnector()
    with pytest.raises(CollectorError, match="not open"):
        connector.read_events()
    with pytest.raises(CollectorError, match="not open"):
        connector.fileno()
    connector.close()  # closing twice, or unopened, is fine


def _collect(connector: ProcConnector, pid: int, until: set[str], timeout: float) -> list[ProcEvent]:
    seen: list[ProcEvent] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        kinds = {e.kind for e in seen if e.pid == pid}
        if until <= kinds:
            break
        select.select([connector], [], [], 0.2)
        seen.extend(connector.read_events())
    return seen


@pytest.mark.root
def test_real_fork_exec_exit_of_true() -> None:
    if os.geteuid() != 0:
        pytest.skip("the proc connector is probed as root here (older kernels demand it)")
    with ProcConnector() as connector:
        start = time.monotonic()
        child = subprocess.Popen(["true"])
        child.wait()
        events = _collect(connector, child.pid, {"exec", "exit"}, timeout=10)
        # Non-blocking: with the queue drained, a read returns at once.
        before = time.monotonic()
        connector.read_events()
        assert time.monotonic() - before < 0.5
    mine = [e for e in events if e.pid == child.pid or e.child_pid == child.pid]
    kinds = [e.kind for e in mine]
    assert "fork" in kinds
    assert kinds.index("fork") < kinds.index("exec") < kinds.index("exit")
    fork = mine[kinds.index("fork")]
    assert fork.pid == os.getpid()
    exit_event = mine[kinds.index("exit")]
    assert exit_event.exit_code == 0
    # Timestamps are CLOCK_MONOTONIC, comparable with time.monotonic().
    assert start - 1 < fork.timestamp < time.monotonic() + 1


@pytest.mark.root
def test_real_exit_code_and_thread_filtering() -> None:
    if os.geteuid() != 0:
        pytest.skip("the proc connector is probed as root here (older kernels demand it)")
    script = "import threading, sys; t = threading.Thread(target=lambda: 0); t.start(); t.join(); sys.exit(3)"
    with ProcConnector() as connector:
        child = subprocess.Popen([sys.executable, "-c", script])
        child.wait()
        events = _collect(connector, child.pid, {"exit"}, timeout=10)
    exits = [e for e in events if e.kind == "exit" and e.pid == child.pid]
    assert len(exits) == 1  # the thread's exit was filtered out
    assert exits[0].exit_code == 3 << 8  # wait status: exit code in the high byte
    forks_from_child = [e for e in events if e.kind == "fork" and e.pid == child.pid]
    assert forks_from_child == []  # the thread it started is not a fork of a process


@pytest.mark.root
def test_open_fails_clearly_outside_the_initial_user_namespace() -> None:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare to create a user namespace")
    script = (
        "import sys\n"
        f"sys.path.insert(0, {str(REPO)!r})\n"
        "from smoothdesk.collector.netlink import ProcConnector\n"
        "from smoothdesk.collector.errors import CollectorError\n"
        "try:\n"
        "    ProcConnector().open(ack_timeout=0.5)\n"
        "    print('opened')\n"
        "except CollectorError as exc:\n"
        "    print('error:', exc)\n"
    )
    result = subprocess.run(
        ["unshare", "--user", "--map-root-user", sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if result.returncode != 0 and "unshare" in result.stderr:
        pytest.skip(f"user namespaces unavailable: {result.stderr.strip()}")
    # Kernels differ: some drop the subscription unacknowledged, others refuse the bind (EPERM).
    out = result.stdout
    assert out.startswith("error: the netlink proc connector "), out
    assert "did not acknowledge" in out or "refused us (it needs root" in out, out


@pytest.mark.root
def test_events_drive_the_table_between_listings() -> None:
    if os.geteuid() != 0:
        pytest.skip("the proc connector is probed as root here (older kernels demand it)")
    table = ProcessTable(full_every=3600.0)
    table.tick(time.monotonic())

    def drain(connector: ProcConnector) -> None:
        for event in connector.read_events():
            if event.kind in ("fork", "exec"):
                table.defer_pid(event.child_pid if event.kind == "fork" else event.pid)
            elif event.kind == "exit":
                table.forget(event.pid)

    with ProcConnector() as connector:
        sleeper = subprocess.Popen(["sleep", "30"])
        try:
            _collect(connector, sleeper.pid, {"exec"}, timeout=10)
            table.defer_pid(sleeper.pid)  # _collect consumed the events: as drain() would
            snap = table.tick(time.monotonic())
            assert snap.processes[sleeper.pid].cmdline == ("sleep", "30")
        finally:
            sleeper.kill()
            sleeper.wait()
        deadline = time.monotonic() + 10
        while sleeper.pid in table.processes and time.monotonic() < deadline:
            select.select([connector], [], [], 0.2)
            drain(connector)
    # Gone before any tick or listing looked: the exit event did it.
    assert sleeper.pid not in table.processes
    assert sleeper.pid not in table.tick(time.monotonic()).processes
