"""The memory levers: oom_score_adj (protect, or expose as the fallback), MemoryLow=, opt-in kill.

Plans arrive as any object with the shape of `MemoryOrders` (the policy's MemoryPlan has it);
the actuator imports no policy code. Originals go to the journal before each change and come
back on restore, only where the value is still ours. Lowering oom_score_adj below a process's
floor needs CAP_SYS_RESOURCE; where the kernel refuses (EACCES), the focused app is protected
relatively instead: the largest background groups get the mirror value, which any owner may set
and undo. Killing needs the plan to ask *and* the caller to pass allow_kill=True.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from smoothdesk.actuator import oom
from smoothdesk.actuator.cgroups import CgroupBackend
from smoothdesk.actuator.journal import JournalData, OomEntry, UnitPropertyEntry
from smoothdesk.actuator.report import ApplyReport
from smoothdesk.actuator.systemd import SystemdBackend
from smoothdesk.actuator.tally import Tally
from smoothdesk.core import ProcessRecord, ProcKey

log = logging.getLogger(__name__)
MEMORY_LOW = "MemoryLow"
PROTECT, EXPOSE = "protect", "expose"
_LEVER_NAMES = ((PROTECT, "oom_score_adj"), (EXPOSE, "raise-background"))


class OomOrder(Protocol):
    @property
    def group_id(self) -> str: ...
    @property
    def keys(self) -> Sequence[ProcKey]: ...
    @property
    def oom_score_adj(self) -> int: ...


class ProtectOrderLike(OomOrder, Protocol):
    @property
    def unit(self) -> str | None: ...
    @property
    def memory_low(self) -> int: ...


class KillOrderLike(Protocol):
    @property
    def group_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def keys(self) -> Sequence[ProcKey]: ...
    @property
    def reason(self) -> str: ...


class MemoryOrders(Protocol):
    """What apply_memory needs from a plan; inactive means give everything back."""

    @property
    def active(self) -> bool: ...
    @property
    def protect(self) -> Sequence[ProtectOrderLike]: ...
    @property
    def expose(self) -> Sequence[OomOrder]: ...
    @property
    def kill(self) -> KillOrderLike | None: ...


@dataclass(slots=True)
class MemoryReport:
    """What one apply_memory did. `lever` says which protection is in force:
    "oom_score_adj" (protected processes lowered), "raise-background" (lowering refused, the
    largest background groups raised instead), both joined by "+", or "none"."""

    lever: str = "none"
    lowered: list[ProcKey] = field(default_factory=list)
    raised: list[ProcKey] = field(default_factory=list)
    memory_low: list[str] = field(default_factory=list)
    killed: list[ProcKey] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    counts: ApplyReport = field(default_factory=ApplyReport)


class MemoryLevers:
    """Applies MemoryOrders to the system, recording originals in the actuator's journal data."""

    def __init__(
        self,
        proc_root: Path,
        backend: CgroupBackend | None,
        eligible: Callable[[ProcessRecord], bool],
    ) -> None:
        self.proc_root = proc_root
        self.systemd = backend if isinstance(backend, SystemdBackend) else None
        self.eligible = eligible
        self.lower_refused = False
        """Sticky: once the kernel refused to lower one, it will refuse the next (no capability)."""

    def apply(
        self,
        plan: MemoryOrders,
        processes: Mapping[int, ProcessRecord],
        data: JournalData,
        tally: Tally,
        save: Callable[[], None],
        *,
        allow_kill: bool,
    ) -> MemoryReport:
        """`save` writes the journal; it is called before changes, and only when entries changed."""
        report = MemoryReport()
        saved = [_signature(data)]

        def commit() -> None:
            if _signature(data) != saved[0]:
                save()
                saved[0] = _signature(data)

        protect = self._wanted(plan.protect, processes) if plan.active else {}
        if self.lower_refused:
            # Below 0 was refused once and would be every tick; down to 0 stays possible (the
            # usual floor), which still helps a process that was started with a positive value.
            protect = {k: max(v, 0) for k, v in protect.items()}
        expose = self._wanted(plan.expose, processes) if plan.active else {}
        self._oom_phase(PROTECT, protect, data=data, tally=tally, commit=commit, report=report)
        if self.lower_refused and plan.active:
            self._oom_phase(EXPOSE, expose, data=data, tally=tally, commit=commit, report=report)
        else:
            self.restore_oom(data, [k for k, e in data.oom.items() if e.role == EXPOSE], tally)
        units = self._units(plan, report) if plan.active else {}
        self.restore_units(data, [u for u in data.units if u not in units], tally)
        self._set_units(units, data, tally, commit, report)
        if plan.active and plan.kill is not None:
            self._kill(plan.kill, processes, tally, report, allow_kill=allow_kill)
        roles = {e.role for e in data.oom.values()}
        levers = [name for role, name in _LEVER_NAMES if role in roles]
        report.lever = "+".join(levers) or "none"
        commit()
        report.counts = tally.done()
        return report

    # ---- oom_score_adj -----------------------------------------------------------------------

    def _wanted(
        self, orders: Sequence[OomOrder], processes: Mapping[int, ProcessRecord]
    ) -> dict[ProcKey, int]:
        out: dict[ProcKey, int] = {}
        for order in orders:
            for key in order.keys:
                rec = processes.get(key.pid)
                if rec is not None and rec.key == key and self.eligible(rec):
                    out[key] = order.oom_score_adj
        return out

    def _oom_phase(
        self,
        role: str,
        wanted: Mapping[ProcKey, int],
        *,
        data: JournalData,
        tally: Tally,
        commit: Callable[[], None],
        report: MemoryReport,
    ) -> None:
        """Bring every `wanted` process to its value in `role`; give back this role's others."""
        back = [k for k, e in data.oom.items() if e.role == role and k not in wanted]
        back += [k for k, e in data.oom.items() if e.role != role and k in wanted]
        self.restore_oom(data, back, tally)
        todo: list[OomEntry] = []
        for key, value in wanted.items():
            entry = data.oom.get(key)
            if entry is not None and entry.set == value:
                tally.mark(f"oom:{key}", "skipped")
                continue
            try:
                current = entry.orig if entry is not None else oom.read_oom_score_adj(key, self.proc_root)
            except OSError as exc:
                tally.error(f"oom:{key}", exc)
                continue
            target = min(current, value) if role == PROTECT else max(current, value)
            if target == current:
                tally.mark(f"oom:{key}", "skipped")  # already at least as protected (or exposed)
                continue
            todo.append(OomEntry(key, current, target, role))
        if not todo:
            return
        for entry in todo:
            data.oom[entry.key] = entry
        commit()
        for entry in todo:
            subject = f"oom:{entry.key}"
            if tally.dry_run:
                tally.action(f"oom_score_adj {entry.key}: {entry.orig} -> {entry.set} ({role})")
                tally.mark(subject, "changed")
                continue
            try:
                oom.write_oom_score_adj(entry.key, entry.set, self.proc_root)
            except PermissionError as exc:
                del data.oom[entry.key]
                tally.error(subject, exc)
                if role == PROTECT:
                    self.lower_refused = True
                    report.notes.append(
                        f"lowering oom_score_adj refused ({exc.strerror}): no CAP_SYS_RESOURCE"
                    )
                continue
            except OSError as exc:
                del data.oom[entry.key]
                tally.error(subject, exc)
                continue
            tally.mark(subject, "changed")
            (report.lowered if role == PROTECT else report.raised).append(entry.key)

    def restore_oom(self, data: JournalData, keys: Sequence[ProcKey], tally: Tally) -> None:
        """Put back originals where the value is still ours; a refused one is noted irreversible."""
        for key in keys:
            entry = data.oom.get(key)
            if entry is None:
                continue
            subject = f"oom:{key}"
            if tally.dry_run:
                tally.action(f"restore oom_score_adj {key} -> {entry.orig}")
                tally.mark(subject, "restored")
                continue
            try:
                if oom.read_oom_score_adj(key, self.proc_root) == entry.set:
                    oom.write_oom_score_adj(key, entry.orig, self.proc_root)
                tally.mark(subject, "restored")
            except ProcessLookupError:
                tally.mark(subject, "esrch")
            except PermissionError:
                data.irreversible.append(f"oom_score_adj {key}: {entry.set} -> {entry.orig} refused")
                tally.mark(subject, "irreversible")
            except OSError as exc:
                tally.error(subject, exc)
            del data.oom[key]

    # ---- MemoryLow= --------------------------------------------------------------------------

    def _units(self, plan: MemoryOrders, report: MemoryReport) -> dict[str, int]:
        wanted = {o.unit: o.memory_low for o in plan.protect if o.unit and o.memory_low > 0}
        if not wanted:
            return {}
        if self.systemd is None:
            report.notes.append("MemoryLow=: needs systemd managing cgroup v2; not available here")
            return {}
        return {u: v for u, v in wanted.items() if self.systemd.manages(u)}

    def _set_units(
        self,
        units: Mapping[str, int],
        data: JournalData,
        tally: Tally,
        commit: Callable[[], None],
        report: MemoryReport,
    ) -> None:
        for unit, value in units.items():
            subject = f"unit:{unit}:{MEMORY_LOW}"
            entry = data.units.get(unit)
            if entry is not None and entry.set == value:
                tally.mark(subject, "skipped")
                continue
            assert self.systemd is not None
            try:
                orig = entry.orig if entry is not None else self.systemd.get_unit_property(unit, MEMORY_LOW)
                if orig >= value:
                    tally.mark(subject, "skipped")  # never lower a protection someone else set
                    continue
                data.units[unit] = UnitPropertyEntry(unit, MEMORY_LOW, orig, value)
                commit()
                if tally.dry_run:
                    tally.action(f"systemd: SetUnitProperties({unit}, runtime, {MEMORY_LOW}={value})")
                else:
                    self.systemd.set_unit_properties(unit, {MEMORY_LOW: value})
                tally.mark(subject, "changed")
                report.memory_low.append(unit)
            except OSError as exc:
                if entry is None:
                    data.units.pop(unit, None)
                tally.error(subject, exc)

    def restore_units(self, data: JournalData, units: Sequence[str], tally: Tally) -> None:
        for unit in units:
            entry = data.units.get(unit)
            if entry is None:
                continue
            subject = f"unit:{unit}:{entry.prop}"
            if self.systemd is None:
                if tally.dry_run:
                    continue
                data.irreversible.append(
                    f"{unit}: {entry.prop} journaled, no systemd backend here to undo it"
                )
                tally.mark(subject, "irreversible")
            elif tally.dry_run:
                tally.action(f"systemd: restore {unit} {entry.prop}={entry.orig}")
                tally.mark(subject, "restored")
                continue
            else:
                try:
                    if self.systemd.get_unit_property(unit, entry.prop) == entry.set:
                        self.systemd.set_unit_properties(unit, {entry.prop: entry.orig})
                    tally.mark(subject, "restored")
                except ProcessLookupError:
                    tally.mark(subject, "esrch")  # the unit is gone, and its property with it
                except OSError as exc:
                    tally.error(subject, exc)
            del data.units[unit]

    # ---- the opt-in kill ---------------------------------------------------------------------

    def _kill(
        self,
        order: KillOrderLike,
        processes: Mapping[int, ProcessRecord],
        tally: Tally,
        report: MemoryReport,
        *,
        allow_kill: bool,
    ) -> None:
        if not allow_kill:
            report.notes.append(f"kill of {order.name} planned but killing is not enabled: skipped")
            return
        for key in order.keys:
            subject = f"kill:{key}"
            rec = processes.get(key.pid)
            if rec is None or rec.key != key or not self.eligible(rec):
                tally.mark(subject, "skipped")
                continue
            if tally.dry_run:
                tally.action(f"SIGKILL {key} ({rec.comm}) of {order.name}: {order.reason}")
                continue
            try:
                oom.kill_verified(key, self.proc_root)
            except OSError as exc:
                tally.error(subject, exc)
                continue
            log.warning("killed %s (%s) of %s: %s", key, rec.comm, order.name, order.reason)
            tally.mark(subject, "changed")
            report.killed.append(key)


def _signature(data: JournalData) -> tuple[object, ...]:
    """What the journal holds of the memory levers, to skip writes that would change nothing."""
    oom_part = tuple((k, e.set, e.role) for k, e in data.oom.items())
    return oom_part, tuple((u, e.set) for u, e in data.units.items()), len(data.irreversible)
