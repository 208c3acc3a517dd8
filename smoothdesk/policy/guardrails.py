"""The never-touch list: kernel threads, PID 1, real-time tasks, user-tuned and foreign processes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from smoothdesk.core import AppGroup, Decision, PriorityClass, ProcessRecord, ProcKey, Reason
from smoothdesk.core.process import SCHED_BATCH, SCHED_DEADLINE, SCHED_FIFO, SCHED_IDLE, SCHED_RR

_POLICY_NAMES = {
    SCHED_FIFO: "SCHED_FIFO",
    SCHED_RR: "SCHED_RR",
    SCHED_BATCH: "SCHED_BATCH",
    SCHED_IDLE: "SCHED_IDLE",
    SCHED_DEADLINE: "SCHED_DEADLINE",
}
IOPRIO_CLASS_SHIFT = 13
IOPRIO_CLASS_NONE = 0
IOPRIO_CLASS_BE = 2
_NAMES_SHOWN = 3


@dataclass(frozen=True, slots=True)
class Baseline:
    """How a process was set up when SmoothDesk first saw it, and what that says.

    `adjusted_by_user` names what the user set ("nice 10", "chrt SCHED_IDLE", "ionice",
    "taskset"), or is empty when the process runs as the system made it.
    """

    nice: int
    policy: int
    ioprio: int | None
    affinity_restricted: bool
    adjusted_by_user: str = ""


def ioprio_is_default(ioprio: int | None, nice: int) -> bool:
    """True when no IO priority was set explicitly.

    The kernel reports an unset priority as class "none" or, since 5.x, as best-effort at
    the level derived from nice ((nice + 20) / 5).
    """
    if ioprio is None:
        return True
    klass, level = ioprio >> IOPRIO_CLASS_SHIFT, ioprio & ((1 << IOPRIO_CLASS_SHIFT) - 1)
    return klass == IOPRIO_CLASS_NONE or (klass == IOPRIO_CLASS_BE and level == (nice + 20) // 5)


def _settings(proc: ProcessRecord) -> tuple[int, int, int | None, bool]:
    return (proc.nice, proc.policy, proc.ioprio, proc.affinity_restricted)


def _own_adjustments(proc: ProcessRecord) -> str:
    found = []
    if proc.nice != 0:
        found.append(f"nice {proc.nice}")
    if proc.policy != 0 and proc.policy not in (SCHED_FIFO, SCHED_RR, SCHED_DEADLINE):
        found.append(f"chrt {_POLICY_NAMES.get(proc.policy, str(proc.policy))}")
    if not ioprio_is_default(proc.ioprio, proc.nice):
        found.append("ionice")
    if proc.affinity_restricted:
        found.append("taskset")
    return ", ".join(found)


def _parent_managed(proc: ProcessRecord, parent: ProcessRecord | None, managed: frozenset[ProcKey]) -> bool:
    if parent is not None:
        return parent.key in managed
    # The parent's record may be missing on the fast path; a managed key with the parent's pid
    # that started no later than the child is that parent (pids are not reused while it lives).
    return any(k.pid == proc.ppid and k.start_time <= proc.start_time for k in managed)


def first_baseline(
    proc: ProcessRecord,
    parent: ProcessRecord | None,
    parent_baseline: Baseline | None,
    managed_keys: frozenset[ProcKey],
) -> Baseline:
    """The baseline of a process seen for the first time.

    A child of a process SmoothDesk changed inherits SmoothDesk's settings, not the user's; a
    child that carries exactly its parent's current settings inherits the parent's verdict,
    so the cc1 under a demoted make's shell stays ours and the children of `nice make` stay
    the user's.
    """
    if _parent_managed(proc, parent, managed_keys):
        adjusted = ""
    elif parent is not None and parent_baseline is not None and _settings(parent) == _settings(proc):
        adjusted = parent_baseline.adjusted_by_user
    else:
        adjusted = _own_adjustments(proc)
    return Baseline(proc.nice, proc.policy, proc.ioprio, proc.affinity_restricted, adjusted)


def _given_back(known: Baseline, proc: ProcessRecord) -> bool:
    """The nice or policy a process was first seen with is back at the default: a renice, or
    another tool that had set it restoring it (measured: a second helper that stops gives its
    compilers back, and a first-sight "nice 19" kept them unmanaged for their whole life). From
    then on it runs as the system made it, and is ours to manage. The IO priority is left out:
    the collector re-reads it only now and then, so it may still show the old one."""
    if known.nice == 0 and known.policy == 0:
        return False
    return proc.nice == 0 and proc.policy == 0 and not proc.affinity_restricted


def update_baselines(
    processes: Mapping[int, ProcessRecord],
    pids: Iterable[int],
    baselines: Mapping[ProcKey, Baseline],
    managed_keys: frozenset[ProcKey],
) -> dict[ProcKey, Baseline]:
    """Return `baselines` plus first-sight baselines for the given pids not yet known; a known
    process whose first-seen nice or policy is back at the default gets a plain one.

    New processes are taken oldest first so a parent born in the same tick is judged before
    its children.
    """
    # A read-only view's copy() is a C-level dict copy; dict(view) walks the mapping protocol.
    result = baselines.copy() if isinstance(baselines, (dict, MappingProxyType)) else dict(baselines)
    new: list[ProcessRecord] = []
    for pid in pids:
        proc = processes.get(pid)
        if proc is None:
            continue
        known = result.get(proc.key)
        if known is None:
            new.append(proc)
        elif known.adjusted_by_user and _given_back(known, proc):
            result[proc.key] = Baseline(proc.nice, proc.policy, proc.ioprio, proc.affinity_restricted)
    for proc in sorted(new, key=lambda p: (p.start_time, p.pid)):
        parent = processes.get(proc.ppid)
        if parent is not None and parent.start_time > proc.start_time:
            parent = None  # the pid was reused: this is not the parent
        parent_baseline = result.get(parent.key) if parent is not None else None
        result[proc.key] = first_baseline(proc, parent, parent_baseline, managed_keys)
    return result


def protection(
    proc: ProcessRecord,
    baseline: Baseline | None,
    own_pids: frozenset[int],
    user_mode_uid: int | None,
) -> str | None:
    """Why a process must be left alone, or None when SmoothDesk may manage it."""
    if proc.kernel_thread:
        return "kernel thread"
    if proc.pid == 1:
        return "PID 1"
    if proc.realtime:
        return f"real-time ({_POLICY_NAMES.get(proc.policy, str(proc.policy))})"
    if proc.pid in own_pids:
        return "SmoothDesk itself"
    if user_mode_uid is not None and proc.uid != user_mode_uid:
        return f"another user's process (uid {proc.uid}, user mode)"
    if baseline is not None and baseline.adjusted_by_user:
        return f"started by the user with {baseline.adjusted_by_user}"
    return None


@dataclass(frozen=True, slots=True)
class GuardResult:
    """What the guardrails say about one group: protected pids and why."""

    protected: Mapping[int, str]
    all_protected: bool
    realtime: bool
    reason: Reason | None


def _summary(why_by_pid: Mapping[int, str], names: Mapping[int, str]) -> str:
    by_why: dict[str, list[int]] = {}
    for pid in sorted(why_by_pid):
        by_why.setdefault(why_by_pid[pid], []).append(pid)
    parts = []
    for why, pids in sorted(by_why.items()):
        shown = ", ".join(f"{names.get(p, '?')} ({p})" for p in pids[:_NAMES_SHOWN])
        more = f" and {len(pids) - _NAMES_SHOWN} more" if len(pids) > _NAMES_SHOWN else ""
        parts.append(f"{why}: {shown}{more}")
    return "; ".join(parts)


def guard_group(
    group: AppGroup,
    processes: Mapping[int, ProcessRecord],
    baselines: Mapping[ProcKey, Baseline],
    own_pids: frozenset[int],
    user_mode_uid: int | None,
) -> GuardResult:
    """Apply the guardrails to every live member of a group."""
    why: dict[int, str] = {}
    names: dict[int, str] = {}
    realtime = False
    live = [processes[p] for p in group.members if p in processes]
    for proc in live:
        verdict = protection(proc, baselines.get(proc.key), own_pids, user_mode_uid)
        if verdict is not None:
            why[proc.pid] = verdict
            names[proc.pid] = proc.name
            realtime = realtime or proc.realtime
    all_protected = bool(live) and len(why) == len(live)
    if not why:
        return GuardResult({}, False, False, None)
    prefix = "all left alone" if all_protected else f"{len(why)} of {len(live)} left alone"
    reason = Reason("guardrail", f"{prefix}: {_summary(why, names)}")
    return GuardResult(why, all_protected, realtime, reason)


def protected_decision(group: AppGroup, guard: GuardResult) -> Decision:
    """The hands-off decision for a group whose members are all protected."""
    klass = PriorityClass.CRITICAL if guard.realtime else PriorityClass.NORMAL
    reasons = (guard.reason,) if guard.reason is not None else ()
    return Decision(group.id, klass, reasons, manage=False, exempt=frozenset(guard.protected))
