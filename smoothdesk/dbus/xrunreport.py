"""Checks a session agent's ReportXruns arguments; every error names the argument."""

from __future__ import annotations

from typing import Any

from smoothdesk.dbus import errors, procref

MAX_SOURCE = 64
MAX_XRUNS = 1_000_000  # per report: more than any device can produce between two reports
MAX_CLIENTS = 256


def check_xruns(uid: int, source: str, count: int, clients: list[Any]) -> tuple[str, int, dict[int, int]]:
    """(source, count, {pid: xruns}) once proven; a client that exited meanwhile loses its name only.

    Naming another user's process is refused (AccessDenied), as in the other reports.
    """
    if len(source) > MAX_SOURCE or not source.isprintable():
        raise errors.InvalidArgument("source", f"must be at most {MAX_SOURCE} printable characters")
    if count > MAX_XRUNS:
        raise errors.InvalidArgument("count", f"at most {MAX_XRUNS} per report")
    if not source and (count or clients):
        raise errors.InvalidArgument("count", "an agent without a source ('') reports no xruns")
    if len(clients) > MAX_CLIENTS:
        raise errors.InvalidArgument("clients", f"at most {MAX_CLIENTS} entries")
    by_pid: dict[int, int] = {}
    for pid, start, xruns in clients:
        if not 0 < pid < procref.MAX_PID:
            raise errors.InvalidArgument("clients", f"{pid} is not a valid process id")
        if xruns > count:
            raise errors.InvalidArgument("clients", f"process {pid}: {xruns} xruns, more than count {count}")
        try:
            procref.owner_of(pid, start, uid, "clients")
        except errors.InvalidArgument:
            continue  # it glitched, then exited: the xruns still count, unattributed
        by_pid[pid] = by_pid.get(pid, 0) + xruns
    if sum(by_pid.values()) > count:
        raise errors.InvalidArgument("clients", f"more xruns per process than count {count}")
    return source, count, by_pid
