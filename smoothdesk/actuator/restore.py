"""Giving back what the journal holds: threads, cgroup targets and autogroups, PID-reuse safe."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from smoothdesk.actuator import autogroups as ag
from smoothdesk.actuator.cgroups import CgroupBackend
from smoothdesk.actuator.journal import JournalData
from smoothdesk.actuator.syscalls import read_autogroup, read_start_time
from smoothdesk.actuator.tally import Tally
from smoothdesk.actuator.threads import restore_threads
from smoothdesk.core import ProcKey

log = logging.getLogger(__name__)


class Restorer:
    """Each method drops the entries it settles from `data` (unless the tally is a dry run).

    A process whose start time no longer matches its key is never touched: its pid now
    belongs to someone else, and what we changed died with the old process.
    """

    def __init__(self, proc_root: Path, backend: CgroupBackend | None) -> None:
        self.proc_root = proc_root
        self.backend = backend

    def _alive(self, key: ProcKey) -> bool:
        try:
            return read_start_time(key.pid, self.proc_root) == key.start_time
        except (ProcessLookupError, PermissionError, ValueError, IndexError):
            return False

    def procs(
        self,
        data: JournalData,
        keys: Sequence[ProcKey],
        tally: Tally,
        forget: Callable[[ProcKey], None],
    ) -> None:
        for key in keys:
            entry = data.procs.get(key)
            if entry is None:
                continue
            subject = f"proc:{key}"
            if not self._alive(key):
                tally.mark(subject, "esrch")
            elif tally.dry_run:
                tally.action(f"restore {key} ({len(entry.threads)} thread(s)) from {entry.klass}")
                tally.mark(subject, "restored")
                continue
            else:
                try:
                    refused = restore_threads(entry, self.proc_root)
                    tally.mark(subject, "irreversible" if refused else "restored")
                    data.irreversible.extend(refused)
                except OSError as exc:
                    tally.error(subject, exc)
            del data.procs[key]
            forget(key)

    def cgroups(self, data: JournalData, targets: Sequence[str], tally: Tally, done: dict[str, str]) -> None:
        for target in targets:
            entry = data.cgroups.get(target)
            if entry is None:
                continue
            subject = f"proc:{entry.member}" if entry.member is not None else target
            backend = self.backend
            if backend is None or backend.name != entry.backend:
                if tally.dry_run:
                    continue
                note = f"{target}: journaled by backend {entry.backend}, none here to undo it"
                data.irreversible.append(note)
                tally.mark(subject, "irreversible")
            elif entry.member is not None and not self._alive(entry.member):
                tally.mark(subject, "esrch")
            elif tally.dry_run:
                tally.action(f"{backend.name}: restore {target} to {entry.original}")
                tally.mark(subject, "restored")
                continue
            else:
                try:
                    backend.restore(target, entry.original, entry.member)
                    tally.mark(subject, "restored")
                except OSError as exc:
                    tally.error(subject, exc)
            del data.cgroups[target]
            done.pop(target, None)

    def autogroups(
        self,
        data: JournalData,
        agids: Sequence[int],
        candidates: Mapping[int, Sequence[int]],
        tally: Tally,
        done: dict[int, int],
        *,
        scan: bool = False,
    ) -> None:
        for agid in agids:
            entry = data.autogroups.get(agid)
            if entry is None:
                continue
            subject = f"autogroup:{agid}"
            first = [entry.member.pid] if self._alive(entry.member) else []
            pid = ag.find_member(agid, [*first, *candidates.get(agid, ())], self.proc_root)
            if pid is None and scan:
                pid = ag.scan_members(agid, self.proc_root)
            if pid is None:
                tally.mark(subject, "esrch")  # every member exited: the autogroup is gone
            elif tally.dry_run:
                tally.action(f"autogroup {agid} (via pid {pid}): nice -> {entry.nice}")
                tally.mark(subject, "restored")
                continue
            else:
                try:
                    found = read_autogroup(pid, self.proc_root)
                    # Only undo our own value: a nice someone set since is theirs.
                    if found is not None and found[1] == entry.set != entry.nice:
                        ag.write_nice(pid, entry.nice, self.proc_root, retries=3)
                    tally.mark(subject, "restored")
                except BlockingIOError:
                    tally.mark(subject, "deferred")
                    continue
                except PermissionError:
                    note = f"autogroup {agid}: nice {entry.set} -> {entry.nice} refused"
                    data.irreversible.append(note)
                    tally.mark(subject, "irreversible")
                except OSError as exc:
                    tally.error(subject, exc)
            del data.autogroups[agid]
            done.pop(agid, None)
