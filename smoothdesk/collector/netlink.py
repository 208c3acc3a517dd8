"""Process events (fork, exec, exit, ...) from the kernel's netlink proc connector."""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import select
import socket
import struct
import time
from dataclasses import dataclass
from types import TracebackType

from smoothdesk.collector.errors import CollectorError

NETLINK_CONNECTOR = 11
CN_IDX_PROC = 1
CN_VAL_PROC = 1
PROC_CN_MCAST_LISTEN = 1
PROC_CN_MCAST_IGNORE = 2
NLMSG_ERROR = 2
NLMSG_DONE = 3

_NLMSGHDR = struct.Struct("=IHHII")  # len, type, flags, seq, pid
_CN_MSG = struct.Struct("=IIIIHH")  # idx, val, seq, ack, len, flags
_EVENT_HEADER = struct.Struct("=IIQ")  # what, cpu, timestamp_ns
_HEADER_SIZE = _NLMSGHDR.size + _CN_MSG.size
_DATA_AT = _HEADER_SIZE + _EVENT_HEADER.size
_PIDS = struct.Struct("=ii")
_FORK = struct.Struct("=iiii")  # parent pid, parent tgid, child pid, child tgid
_EXIT = struct.Struct("=iiII")  # pid, tgid, exit code, exit signal
_IDS = struct.Struct("=iiII")  # pid, tgid, real id, effective id
_COMM = struct.Struct("=ii16s")

PROC_EVENT_NONE = 0x00000000
KINDS = {
    0x00000001: "fork",
    0x00000002: "exec",
    0x00000004: "uid",
    0x00000040: "gid",
    0x00000080: "sid",
    0x00000100: "ptrace",
    0x00000200: "comm",
    0x20000000: "nonzero_exit",
    0x40000000: "coredump",
    0x80000000: "exit",
}
_RECV_BUFFER = 4 << 20  # bursts of forks (make -j) must not overflow the socket
_ACK_TIMEOUT = 1.0


@dataclass(frozen=True, slots=True)
class ProcEvent:
    """One process event. `pid` is the process (thread group) id; for "fork" it is the
    parent, `parent_tid` the parent's thread that forked, and `child_pid` the new process.
    `timestamp_ns` is CLOCK_MONOTONIC.

    kind "overflow" (pid 0) means events were lost: rescan /proc.
    """

    kind: str
    pid: int
    timestamp_ns: int = 0
    child_pid: int = 0
    exit_code: int = 0
    exit_signal: int = 0
    uid: int = -1
    comm: str = ""
    parent_tid: int = 0

    @property
    def timestamp(self) -> float:
        """Seconds on the time.monotonic() clock."""
        return self.timestamp_ns / 1e9


def parse_event(data: bytes, offset: int = 0) -> ProcEvent | None:
    """Decode one proc connector message; None for acks and thread-level events."""
    what, _cpu, ts = _EVENT_HEADER.unpack_from(data, offset + _HEADER_SIZE)
    at = offset + _DATA_AT
    kind = KINDS.get(what)
    if kind is None:
        return None
    if kind == "fork":
        ptid, ptgid, child, child_tgid = _FORK.unpack_from(data, at)
        if child != child_tgid:
            return None  # a new thread, not a new process
        return ProcEvent(kind, ptgid, ts, child_pid=child_tgid, parent_tid=ptid)
    if kind == "exit":
        pid, tgid, code, signal = _EXIT.unpack_from(data, at)
        if pid != tgid:
            return None  # a thread ended; the process lives on
        return ProcEvent(kind, tgid, ts, exit_code=code, exit_signal=signal)
    if kind == "uid":
        pid, tgid, ruid, _euid = _IDS.unpack_from(data, at)
        return None if pid != tgid else ProcEvent(kind, tgid, ts, uid=ruid)
    if kind == "comm":
        pid, tgid, raw = _COMM.unpack_from(data, at)
        if pid != tgid:
            return None  # a thread renamed itself
        name = raw.split(b"\0", 1)[0].decode("utf-8", "replace")
        return ProcEvent(kind, tgid, ts, comm=name)
    pid, tgid = _PIDS.unpack_from(data, at)
    # exec reports the (new) leader; other kinds matter only for the whole process.
    if pid != tgid and kind != "exec":
        return None
    return ProcEvent(kind, tgid, ts)


def _control_message(op: int, seq: int = 0, ack: int = 0) -> bytes:
    payload = struct.pack("=I", op)
    cn = _CN_MSG.pack(CN_IDX_PROC, CN_VAL_PROC, seq, ack, len(payload), 0)
    return _NLMSGHDR.pack(_NLMSGHDR.size + len(cn) + len(payload), NLMSG_DONE, 0, 0, 0) + cn + payload


class ProcConnector:
    """A non-blocking listener on the proc connector; use open() then read_events()."""

    def __init__(self) -> None:
        self._sock: socket.socket | None = None

    def open(self, ack_timeout: float = _ACK_TIMEOUT) -> None:
        """Subscribe to process events; CollectorError says why when that is not permitted."""
        if self._sock is not None:
            return
        try:
            sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_CONNECTOR)
        except OSError as exc:
            raise CollectorError(f"cannot create a netlink connector socket: {exc}") from exc
        try:
            self._grow_buffer(sock)
            # Port id 0: the kernel picks a unique one, so several listeners can coexist.
            sock.bind((0, CN_IDX_PROC))
            # Acks go to every listener of the group; the kernel answers with our ack + 1,
            # so a random ack tells ours apart.
            ack = secrets.randbits(31)
            sock.send(_control_message(PROC_CN_MCAST_LISTEN, ack=ack))
            self._await_ack(sock, ack_timeout, ack + 1)
            sock.setblocking(False)
        except PermissionError as exc:
            sock.close()
            raise CollectorError(
                "the netlink proc connector refused us (it needs root or CAP_NET_ADMIN on "
                f"kernels before 6.6): {exc}"
            ) from exc
        except OSError as exc:
            sock.close()
            raise CollectorError(f"cannot subscribe to the netlink proc connector: {exc}") from exc
        except CollectorError:
            sock.close()
            raise
        self._sock = sock

    @staticmethod
    def _grow_buffer(sock: socket.socket) -> None:
        force = getattr(socket, "SO_RCVBUFFORCE", 33)
        try:
            sock.setsockopt(socket.SOL_SOCKET, force, _RECV_BUFFER)
        except OSError:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _RECV_BUFFER)

    @staticmethod
    def _await_ack(sock: socket.socket, timeout: float, ack: int) -> None:
        """Wait for the kernel's acknowledgement of our LISTEN, which carries its verdict."""
        deadline = time.monotonic() + timeout
        # poll, not select: the process table keeps many stat files open, so this socket's fd
        # may be past select()'s FD_SETSIZE (1024).
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        while True:
            ready = poller.poll(max(0.0, deadline - time.monotonic()) * 1000)
            if not ready:
                raise CollectorError(
                    "the netlink proc connector did not acknowledge our subscription "
                    "(it ignores requests from outside the initial user and pid namespaces)"
                )
            data = sock.recv(65536)
            if len(data) < _DATA_AT + 4:
                continue
            what = _EVENT_HEADER.unpack_from(data, _HEADER_SIZE)[0]
            got_ack = _CN_MSG.unpack_from(data, _NLMSGHDR.size)[3]
            if what != PROC_EVENT_NONE or got_ack != ack:
                continue  # an event, or another listener's ack
            err = struct.unpack_from("=I", data, _DATA_AT)[0]
            if err:
                raise CollectorError(
                    f"the netlink proc connector refused to subscribe us: {os.strerror(err)}"
                )
            return

    def fileno(self) -> int:
        """The socket's descriptor, for select/poll/asyncio add_reader."""
        if self._sock is None:
            raise CollectorError("ProcConnector is not open")
        return self._sock.fileno()

    def read_events(self) -> list[ProcEvent]:
        """Every event queued now (never blocks); an "overflow" event if some were lost."""
        if self._sock is None:
            raise CollectorError("ProcConnector is not open")
        events: list[ProcEvent] = []
        while True:
            try:
                data = self._sock.recv(65536)
            except BlockingIOError:
                return events
            except OSError as exc:
                if exc.errno == errno.ENOBUFS:
                    events.append(ProcEvent("overflow", 0))
                    continue
                raise CollectorError(f"reading the netlink proc connector: {exc}") from exc
            events.extend(_parse_datagram(data))

    def close(self) -> None:
        """Unsubscribe and close; safe to call twice."""
        sock, self._sock = self._sock, None
        if sock is None:
            return
        with contextlib.suppress(OSError):
            # Failing is harmless: the kernel drops our subscription with the socket.
            sock.send(_control_message(PROC_CN_MCAST_IGNORE))
        sock.close()

    def __enter__(self) -> ProcConnector:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _parse_datagram(data: bytes) -> list[ProcEvent]:
    events = []
    offset = 0
    while offset + _DATA_AT <= len(data):
        length, msg_type = _NLMSGHDR.unpack_from(data, offset)[:2]
        if length < _NLMSGHDR.size:
            break
        if msg_type != NLMSG_ERROR:
            try:
                event = parse_event(data, offset)
            except struct.error:
                break  # truncated message: nothing after it can be trusted
            if event is not None:
                events.append(event)
        offset += (length + 3) & ~3
    return events
