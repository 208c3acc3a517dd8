"""The Actuator: turns Decisions into lever changes, journals originals, and undoes them."""

from __future__ import annotations

import copy
import functools
import logging
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from smoothdesk.actuator import autogroups as ag
from smoothdesk.actuator import slices
from smoothdesk.actuator.cgroups import CgroupBackend
from smoothdesk.actuator.inherit import Inheritance
from smoothdesk.actuator.inherit_sweep import restore_rounds
from smoothdesk.actuator.journal import (
    CgroupEntry,
    Journal,
    JournalData,
    ProcEntry,
)
from smoothdesk.actuator.levers import NO_LEVERS, LeverSet, lever_table, without_slices
from smoothdesk.actuator.memory import MemoryLevers, MemoryOrders, MemoryReport
from smoothdesk.actuator.plans import CgroupPlan, ProcPlan
from smoothdesk.actuator.report import ApplyReport
from smoothdesk.actuator.restore import Restorer
from smoothdesk.actuator.syscalls import list_tids, read_start_time
from smoothdesk.actuator.tally import Tally
from smoothdesk.actuator.threads import execute, plan_threads
from smoothdesk.actuator.wanted import cgroup_targets, eligible, wanted_levers
from smoothdesk.core import AppGroup, Decision, PriorityClass, ProcessRecord, ProcKey

log = logging.getLogger(__name__)


class Actuator:
    """The only code that changes the system.

    Every original is journaled (one atomic write per call, before that call's first change),
    only ever lowers priority relative to the original (the one exception, a shorter slice for
    the critical and interactive classes, takes no CPU share from anyone), and `restore_all()` /
    `recover()` put back exactly what we changed, for processes whose start time still matches.

    User mode (`user_uid` set): only that uid's processes; the default table then keeps only
    levers the owner can undo (see `user_mode_levers`); any restore the kernel refuses is
    counted as irreversible and noted in the journal.
    """

    def __init__(
        self,
        run_dir: Path,
        *,
        dry_run: bool = False,
        user_uid: int | None = None,
        proc_root: Path = Path("/proc"),
        cgroup_backend: CgroupBackend | None = None,
        levers: Mapping[PriorityClass, LeverSet] | None = None,
        autogroup: bool = True,
    ) -> None:
        self.run_dir = run_dir
        self.dry_run = dry_run
        self.user_uid = user_uid
        self.proc_root = proc_root
        self.backend = cgroup_backend
        self.levers = lever_table(levers, user_mode=user_uid is not None, autogroup=autogroup)
        if any(lv.slice_ns for lv in self.levers.values()) and not slices.honoured():
            log.warning("the kernel does not honour EEVDF custom slices: no class gets one")
            self.levers = without_slices(self.levers)
        self.journal = Journal(run_dir)
        # Adopting what a previous run left keeps its originals even if recover() is skipped.
        self._data = self.journal.load()
        self._dirty = False
        self._tids: dict[ProcKey, frozenset[int]] = {}
        self._cg_done: dict[str, str] = {}
        self._ag_done: dict[int, int] = {}
        self._lock = threading.Lock()
        self._restorer = Restorer(proc_root, cgroup_backend)
        self._inherit = Inheritance(proc_root, cgroup_backend, self.levers, user_uid)
        self._eligible = functools.partial(eligible, user_uid=user_uid)
        self._memory = MemoryLevers(proc_root, cgroup_backend, self._eligible)

    # ---- public API -------------------------------------------------------------------------

    def apply(
        self,
        decisions: Mapping[str, Decision],
        groups: Sequence[AppGroup],
        processes: Mapping[int, ProcessRecord],
    ) -> ApplyReport:
        """Bring every group to its decided class; undo our changes where no longer wanted.

        `processes` must be the whole process table (an autogroup is lowered only when every
        process in it is demoted, and only the table can tell).
        """
        with self._lock:
            tally = Tally(self.dry_run)
            data = copy.deepcopy(self._data) if self.dry_run else self._data
            # Children born demoted are journaled first, with their parents' originals.
            self._dirty = bool(self._inherit.adopt_table(data, processes)) or self._dirty
            wanted = wanted_levers(decisions, groups, processes, self.levers, self._eligible)
            proc_plans = [
                p
                for pid, (klass, _) in wanted.items()
                if (p := self._plan_proc(processes[pid], klass, data, tally)) is not None
            ]
            cg_plans, cg_back = self._plan_cgroups(wanted, processes, data, tally)
            lv = {pid: levers for pid, (_, levers) in wanted.items()}
            ag_plans, ag_back = ag.plan_autogroups(lv, processes, data.autogroups, self.proc_root)
            ag_plans = [p for p in ag_plans if ag.claim(p, data.autogroups, self._ag_done, tally)]
            self._dirty = self._dirty or bool(ag_plans)
            gone = [k for k in data.procs if k.pid not in wanted or processes[k.pid].key != k]
            gone, cg_back = self._inherit.unseen(data, gone, cg_back, processes)
            self._commit(data)
            self._run(proc_plans, cg_plans, ag_plans, data, tally)
            self._restorer.procs(data, gone, tally, self._forget)
            self._restorer.cgroups(data, cg_back, tally, self._cg_done)
            candidates = {a: [r.pid for r in processes.values() if r.autogroup == a] for a in ag_back}
            self._restorer.autogroups(data, ag_back, candidates, tally, self._ag_done)
            self._dirty = self._dirty or (bool(gone or cg_back or ag_back) and not self.dry_run)
            return tally.done()

    def apply_one(
        self, record: ProcessRecord, decision: Decision, group: AppGroup | None = None
    ) -> ApplyReport:
        """Fast path for one new process joining a group already decided (netlink exec events).

        Applies the per-thread levers and a per-process cgroup move; autogroups and units are
        left to the next full apply(), which sees the whole picture.
        """
        with self._lock:
            tally = Tally(self.dry_run)
            data = copy.deepcopy(self._data) if self.dry_run else self._data
            klass = decision.class_of(record.pid)
            if (
                not decision.manage
                or self.levers.get(klass, NO_LEVERS) == NO_LEVERS
                or record.pid in decision.exempt
                or (group is not None and record.pid not in group.members)
                or not self._eligible(record)
            ):
                return tally.done()
            self._dirty = self._inherit.adopt_record(data, record) or self._dirty
            plan = self._plan_proc(record, klass, data, tally, verify=True)
            levers = self.levers.get(klass, NO_LEVERS)
            cg_plans: list[CgroupPlan] = []
            if self.backend is not None and self.backend.per_process and levers.touches_cgroup:
                target = self.backend.target(record)
                if target is not None and self._plan_cgroup_target(target, record, klass, data, tally):
                    cg_plans.append(CgroupPlan(target, record, klass, levers))
            self._commit(data)
            self._run([plan] if plan else [], cg_plans, [], data, tally)
            return tally.done()

    def apply_memory(
        self, plan: MemoryOrders, processes: Mapping[int, ProcessRecord], *, allow_kill: bool = False
    ) -> MemoryReport:
        """Memory protection per the plan (see actuator.memory); inactive gives it all back.

        A kill happens only when the plan names one *and* `allow_kill` is True (memory.kill).
        """
        with self._lock:
            data = copy.deepcopy(self._data) if self.dry_run else self._data
            commit = (lambda: None) if self.dry_run else self._save
            return self._memory.apply(
                plan, processes, data, Tally(self.dry_run), commit, allow_kill=allow_kill
            )

    def adopt_forks(self, forks: Sequence[tuple[int, int, int]]) -> int:
        """Journal the children that fork events (parent, child, forking thread) show born to a
        demoted process (see actuator.inherit); written with the next change, or the sweep at
        recovery finds them."""
        with self._lock:
            adopted = 0 if self.dry_run else self._inherit.adopt_forks(self._data, forks)
            self._dirty = self._dirty or bool(adopted)
            return adopted

    def managed_keys(self) -> frozenset[ProcKey]:
        """Processes we have changed and not yet given back."""
        with self._lock:
            keys = set(self._data.procs)
            keys.update(c.member for c in self._data.cgroups.values() if c.member is not None)
            return frozenset(keys)

    def restore_all(self) -> ApplyReport:
        """Undo everything journaled (start time checked), then delete the journal.

        What the kernel refused to undo stays noted in the journal file.
        """
        with self._lock:
            tally = Tally(self.dry_run)
            data = copy.deepcopy(self._data) if self.dry_run else self._data
            candidates = [k.pid for k in data.procs]
            for _ in restore_rounds(self._inherit, data):  # with every child born demoted
                self._restorer.procs(data, list(data.procs), tally, self._forget)
                self._restorer.cgroups(data, list(data.cgroups), tally, self._cg_done)
            ag_ids = list(data.autogroups)
            self._restorer.autogroups(
                data,
                ag_ids,
                dict.fromkeys(ag_ids, candidates),
                tally,
                self._ag_done,
                scan=True,
            )
            self._memory.restore_oom(data, list(data.oom), tally)
            self._memory.restore_units(data, list(data.units), tally)
            report = tally.done()
            if self.dry_run:
                return report
            if self.backend is not None and not data.cgroups:
                self.backend.close(clean=True)
            report.notes.extend(data.irreversible)
            if data.empty() and not data.irreversible:
                self.journal.delete()
            else:
                self.journal.save(data)
            self._dirty = False
            return report

    def recover(self) -> ApplyReport:
        """At startup: if a previous run left a journal (it crashed), restore from it first."""
        if not self.journal.exists():
            return ApplyReport()
        report = self.restore_all()
        for note in report.notes:
            log.warning("could not undo after a crash: %s", note)
        with self._lock:
            if not self.dry_run and self._data.empty():
                self._data.irreversible.clear()
                self.journal.delete()
        return report

    def close(self) -> None:
        """Release the backend; the journal stays so a later start can restore from it."""
        with self._lock:
            if self._dirty and not self.dry_run:
                self._save()
            if self.backend is not None:
                self.backend.close(clean=self._data.empty())

    # ---- planning ---------------------------------------------------------------------------

    def _alive(self, key: ProcKey) -> bool:
        try:
            return read_start_time(key.pid, self.proc_root) == key.start_time
        except (ProcessLookupError, PermissionError, ValueError, IndexError):
            return False

    def _plan_proc(
        self,
        rec: ProcessRecord,
        klass: PriorityClass,
        data: JournalData,
        tally: Tally,
        *,
        verify: bool = False,
    ) -> ProcPlan | None:
        subject, key = f"proc:{rec.key}", rec.key
        levers = self.levers.get(klass, NO_LEVERS)
        if not levers.touches_threads:
            return None
        try:
            tids = list_tids(rec.pid, self.proc_root)
        except ProcessLookupError:
            tally.mark(subject, "esrch")
            return None
        entry, known = data.procs.get(key), self._tids.get(key)
        if entry is not None and entry.klass == klass.value and known is not None:
            if known == frozenset(tids):
                tally.mark(subject, "skipped")
                return None
            new = [t for t in tids if t not in known]
            changes = plan_threads(entry, new, levers, only_new=False)
            # A thread that inherited our values needs no change; one that needs a change set
            # its own values, and those originals cannot be derived again after a crash.
            self._dirty = self._dirty or bool(changes)
        else:
            if entry is None:
                if (verify or key not in self._tids) and not self._alive(key):
                    tally.mark(subject, "esrch")
                    return None
                entry = data.procs[key] = ProcEntry(key, rec.uid, klass.value)
            entry.klass = klass.value
            changes = plan_threads(entry, tids, levers, only_new=False)
            self._dirty = True
        if not changes:
            tally.mark(subject, "skipped")
            if not self.dry_run:
                self._tids[key] = frozenset(tids)
            return None
        return ProcPlan(rec, klass, changes, frozenset(tids))

    def _plan_cgroups(
        self,
        wanted: Mapping[int, tuple[PriorityClass, LeverSet]],
        processes: Mapping[int, ProcessRecord],
        data: JournalData,
        tally: Tally,
    ) -> tuple[list[CgroupPlan], list[str]]:
        if self.backend is None:
            return [], []
        by_target = cgroup_targets(wanted, processes, self.backend)
        plans = []
        for target, pids in by_target.items():
            klass = min((wanted[p][0] for p in pids), key=lambda k: k.rank)
            rec = processes[pids[0]]
            if self._plan_cgroup_target(target, rec, klass, data, tally):
                plans.append(CgroupPlan(target, rec, klass, self.levers[klass]))
        return plans, [t for t in data.cgroups if t not in by_target]

    def _plan_cgroup_target(
        self, target: str, rec: ProcessRecord, klass: PriorityClass, data: JournalData, tally: Tally
    ) -> bool:
        assert self.backend is not None
        entry = data.cgroups.get(target)
        if entry is not None and self._cg_done.get(target) == klass.value:
            tally.mark(self._cg_subject(target, rec), "skipped")
            return False
        if entry is None:
            try:
                original = self.backend.capture(target, rec)
            except OSError as exc:
                tally.error(self._cg_subject(target, rec), exc)
                return False
            member = rec.key if self.backend.per_process else None
            data.cgroups[target] = CgroupEntry(target, self.backend.name, klass.value, original, member)
        data.cgroups[target].klass = klass.value
        self._dirty = True
        return True

    def _cg_subject(self, target: str, rec: ProcessRecord) -> str:
        per_process = self.backend is not None and self.backend.per_process
        return f"proc:{rec.key}" if per_process else target

    # ---- execution --------------------------------------------------------------------------

    def _commit(self, data: JournalData) -> None:
        """The one journal write of a call, before any of its changes."""
        if self._dirty and not self.dry_run:
            self._save()

    def _save(self) -> None:
        if self._data.empty() and not self._data.irreversible:
            self.journal.delete()  # nothing left to undo: no journal means a clean state
        else:
            self.journal.save(self._data)
        self._dirty = False

    def _run(
        self,
        procs: list[ProcPlan],
        cgroups: list[CgroupPlan],
        autogroups: list[ag.AutogroupPlan],
        data: JournalData,
        tally: Tally,
    ) -> None:
        # The cgroup move before the nice: a child forked in between is then in our group at its
        # own nice, which the sweep finds there; the other way round it carried our nice outside
        # any group of ours, and once its parent exited nothing could find it again.
        for c in cgroups:
            assert self.backend is not None
            subject = self._cg_subject(c.target, c.rec)
            if self.dry_run:
                tally.action(self.backend.describe(c.rec, c.klass, c.levers))
                tally.mark(subject, "changed")
                continue
            try:
                self.backend.demote(c.target, c.rec, c.klass, c.levers)
                tally.mark(subject, "changed")
            except OSError as exc:
                tally.error(subject, exc)
            self._cg_done[c.target] = c.klass.value
        for p in procs:
            subject = f"proc:{p.rec.key}"
            if self.dry_run:
                tally.action(p.describe())
                tally.mark(subject, "changed")
                continue
            err = execute(p.rec.pid, p.changes, self.proc_root)
            self._tids[p.rec.key] = p.tids
            if err is None:
                tally.mark(subject, "changed")
            else:
                tally.error(subject, err)
        for a in autogroups:
            ag.run(a, tally, self._ag_done, self.proc_root)

    def _forget(self, key: ProcKey) -> None:
        self._tids.pop(key, None)
