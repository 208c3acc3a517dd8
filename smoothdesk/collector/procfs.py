"""Per-process /proc readers: a cheap stat read and a full read for new processes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

from smoothdesk.collector.cgroups import parse_cgroup
from smoothdesk.collector.errors import CollectorError
from smoothdesk.collector.fileio import read_bytes
from smoothdesk.collector.ioprio import ioprio_get
from smoothdesk.core.process import ProcessRecord

PF_KTHREAD = 0x00200000
REAL_PROC = Path("/proc")
# A zombie has exited and only waits for its parent's wait(): it uses nothing and
# cannot be re-prioritised, so the full readers treat it as gone.
DEAD_STATES = frozenset({"Z", "X", "x"})


class StatFields(NamedTuple):
    """The fields of /proc/PID/stat that SmoothDesk uses (a NamedTuple: cheap to build)."""

    pid: int
    comm: str
    state: str
    ppid: int
    pgrp: int
    session: int
    tty_nr: int
    flags: int
    cpu_ticks: int
    child_ticks: int
    nice: int
    num_threads: int
    start_time: int
    rss_pages: int
    rt_priority: int
    policy: int

    @property
    def kernel_thread(self) -> bool:
        return bool(self.flags & PF_KTHREAD)


class FullRead(NamedTuple):
    """What read_process_full gathers: the record plus the raw figures the tracker needs."""

    record: ProcessRecord
    stat: StatFields
    raw_stat: bytes
    io_read_bytes: int
    io_write_bytes: int


def parse_stat(data: bytes) -> StatFields:
    """Parse /proc/PID/stat content; comm may hold spaces and parentheses (hence rfind)."""
    open_at = data.find(b"(")
    close_at = data.rfind(b")")
    if open_at < 0 or close_at < open_at:
        raise ValueError("no (comm) in stat line")
    f = data[close_at + 2 :].split()
    if len(f) < 39:
        raise ValueError(f"stat line has {len(f) + 2} fields, expected at least 41")
    return StatFields(
        int(data[:open_at]),
        data[open_at + 1 : close_at].decode("utf-8", "replace"),
        f[0].decode(),
        int(f[1]),
        int(f[2]),
        int(f[3]),
        int(f[4]),
        int(f[6]),
        int(f[11]) + int(f[12]),
        int(f[13]) + int(f[14]),
        int(f[16]),
        int(f[17]),
        int(f[19]),
        int(f[21]),
        int(f[37]),
        int(f[38]),
    )


def stat_path(proc_root: Path, pid: int) -> str:
    return f"{proc_root}/{pid}/stat"


def read_stat_raw(path: str) -> bytes | None:
    """The raw stat bytes at path, or None if the process is gone (or hidden from us)."""
    # Inlined rather than read_bytes(): this runs ~1000 times per sweep.
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            return os.read(fd, 4096)
        finally:
            os.close(fd)
    except (FileNotFoundError, ProcessLookupError, PermissionError, NotADirectoryError):
        # PermissionError: hidepid mounts hide other users' processes; to us they do not exist.
        return None


def parse_stat_at(path: str, data: bytes) -> StatFields:
    """parse_stat, with a CollectorError that names the file on malformed content."""
    try:
        return parse_stat(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CollectorError(f"{path}: malformed stat line: {exc}") from exc


def read_stat(proc_root: Path, pid: int) -> StatFields | None:
    """One read of proc_root/PID/stat; None when the process does not exist (ESRCH/ENOENT)."""
    path = stat_path(proc_root, pid)
    data = read_stat_raw(path)
    return None if data is None else parse_stat_at(path, data)


class StatusFields(NamedTuple):
    uid: int
    tgid: int
    cpus_allowed: frozenset[int] | None


def parse_cpu_list(text: str) -> frozenset[int]:
    """Parse a kernel CPU list such as "0-3,8,10-11"."""
    cpus: set[int] = set()
    for part in text.strip().split(","):
        if not part:
            continue
        lo, _, hi = part.partition("-")
        cpus.update(range(int(lo), int(hi or lo) + 1))
    return frozenset(cpus)


def parse_status(text: str) -> StatusFields:
    """The real uid, the thread group id and the allowed CPUs from /proc/PID/status."""
    uid_line = _status_line(text, "Uid:")
    tgid_line = _status_line(text, "Tgid:")
    cpus_line = _status_line(text, "Cpus_allowed_list:")
    return StatusFields(
        int(uid_line.split()[0]) if uid_line else -1,
        int(tgid_line) if tgid_line else -1,
        parse_cpu_list(cpus_line) if cpus_line is not None else None,
    )


def _status_line(text: str, key: str) -> str | None:
    """The value part of the "key" line; str.find beats a loop over ~55 lines."""
    at = text.find("\n" + key)
    if at < 0:
        if not text.startswith(key):
            return None
        at = -1
    start = at + 1 + len(key)
    end = text.find("\n", start)
    return text[start : end if end >= 0 else len(text)].strip()


def parse_autogroup(text: str) -> tuple[int, int] | None:
    """(autogroup id, nice) from "/autogroup-N nice K"; None for the root group or no support."""
    parts = text.split()
    if len(parts) != 3 or not parts[0].startswith("/autogroup-") or parts[1] != "nice":
        return None
    try:
        return int(parts[0][len("/autogroup-") :]), int(parts[2])
    except ValueError:
        return None


def parse_io(text: str) -> tuple[int, int]:
    """(read_bytes, write_bytes) from /proc/PID/io."""
    read = write = 0
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key == "read_bytes":
            read = int(value)
        elif key == "write_bytes":
            write = int(value)
    return read, write


def read_io(proc_root: Path, pid: int) -> tuple[int, int]:
    """(read_bytes, write_bytes) totals; (0, 0) when refused (EACCES) or gone."""
    return read_io_at(f"{proc_root}/{pid}/io")


def read_io_at(path: str) -> tuple[int, int]:
    try:
        data = read_bytes(path)
    except PermissionError:
        return 0, 0
    return (0, 0) if data is None else parse_io(data.decode("ascii", "replace"))


def read_ioprio(proc_root: Path, pid: int) -> int | None:
    """The raw ioprio value (class << 13 | level).

    Only the real /proc can answer through the ioprio_get syscall. For a
    fake tree (tests), the value comes from a file named `ioprio` in the
    process directory holding that raw integer; without that file, None.
    """
    if proc_root == REAL_PROC:
        return ioprio_get(pid)
    data = _read_quiet(f"{proc_root}/{pid}/ioprio")
    try:
        return None if data is None else int(data)
    except ValueError:
        return None


def read_process(proc_root: Path, pid: int, clk_tck: int, page_size: int, ncpu: int) -> ProcessRecord | None:
    """Read everything about one process once; None if it is gone (or a zombie).

    clk_tck is accepted so callers pass the machine constants in one place;
    times stay in clock ticks in the record (start_time must match ProcKey).
    """
    del clk_tck
    full = read_process_full(proc_root, pid, page_size, ncpu)
    return None if full is None else full.record


def read_process_full(
    proc_root: Path, pid: int, page_size: int, ncpu: int, now: float = 0.0
) -> FullRead | None:
    """read_process plus the raw stat and io totals; None if the process is gone or a zombie.

    affinity_restricted is True when the allowed CPU list covers fewer than
    ncpu CPUs (the online count), i.e. someone ran taskset or similar.
    """
    base = f"{proc_root}/{pid}"
    path = base + "/stat"
    raw = read_stat_raw(path)
    if raw is None:
        return None
    stat = parse_stat_at(path, raw)
    if stat.state in DEAD_STATES:
        return None
    status_data = _read_quiet(base + "/status")
    if status_data is None:
        return None
    status = parse_status(status_data.decode("utf-8", "replace"))
    if status.tgid not in (-1, pid):
        # /proc/TID exists for threads too (unlisted); a thread is not a process.
        return None
    cgroup = parse_cgroup(_text(_read_quiet(base + "/cgroup")))
    autogroup = parse_autogroup(_text(_read_quiet(base + "/autogroup")))
    io_read, io_write = read_io_at(base + "/io")
    cpus = status.cpus_allowed
    record = ProcessRecord(
        pid=stat.pid,
        ppid=stat.ppid,
        uid=status.uid,
        comm=stat.comm,
        start_time=stat.start_time,
        exe=_readlink(base + "/exe"),
        cmdline=_cmdline(_read_quiet(base + "/cmdline")),
        cgroup=cgroup.path,
        unit=cgroup.unit,
        autogroup=autogroup[0] if autogroup else None,
        autogroup_nice=autogroup[1] if autogroup else None,
        session=stat.session,
        pgrp=stat.pgrp,
        tty=stat.tty_nr,
        state=stat.state,
        nice=stat.nice,
        policy=stat.policy,
        rt_priority=stat.rt_priority,
        ioprio=read_ioprio(proc_root, pid),
        affinity_restricted=cpus is not None and len(cpus) < ncpu,
        kernel_thread=stat.kernel_thread,
        rss=stat.rss_pages * page_size,
        threads=stat.num_threads,
        cpu_ticks_total=stat.cpu_ticks,
        first_seen=now,
    )
    return FullRead(record, stat, raw, io_read, io_write)


def _read_quiet(path: str) -> bytes | None:
    """read_bytes, with a refusal (EACCES, EPERM) treated like an absent file."""
    try:
        return read_bytes(path)
    except OSError:
        return None


def _text(data: bytes | None) -> str:
    return "" if data is None else data.decode("utf-8", "replace")


def _readlink(path: str) -> str:
    """The exe link target, "" when refused (EACCES) or absent (kernel threads, exited)."""
    try:
        # bytes in, bytes out: a non-UTF-8 target must not become surrogates (D-Bus rejects them)
        return os.readlink(path.encode()).decode("utf-8", "replace")  # noqa: PTH115
    except OSError:
        return ""


def _cmdline(data: bytes | None) -> tuple[str, ...]:
    if not data:
        return ()
    return tuple(arg.decode("utf-8", "replace") for arg in data.rstrip(b"\0").split(b"\0"))
