"""The per-tick figures beyond the basics: responsiveness, percentages the alerts read, per-class CPU."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from smoothdesk.collector.cgroups import pressure_in
from smoothdesk.collector.schedstat import CpuWait
from smoothdesk.core.classes import CLASS_ORDER
from smoothdesk.core.decision import Decision, Hints
from smoothdesk.core.group import AppGroup, Classification, owners
from smoothdesk.core.process import ProcessRecord
from smoothdesk.core.snapshot import Snapshot
from smoothdesk.telemetry.latency import LatencyWindow
from smoothdesk.telemetry.score import responsiveness_score

TOP_APPS = 5


def _percent(part: float, whole: float) -> float:
    return 100.0 * part / whole if whole > 0 else 0.0


# The figures the history already carries (helper/history.py), under the names the alerts and SLOs
# read them by: they are added for judging only, never sent or stored twice.
JUDGED_ALIASES = {
    "cpu_busy_percent": "cpu_busy",
    "psi_cpu_some_avg10": "psi_cpu_some",
    "psi_memory_some_avg10": "psi_memory_some",
    "psi_io_some_avg10": "psi_io_some",
}


def system_figures(snapshot: Snapshot) -> dict[str, float]:
    """Machine-wide figures beyond the history's basic ones (all percentages 0-100)."""
    s = snapshot.system
    return {
        "memory_available_percent": _percent(s.mem_available, s.mem_total),
        "swap_used_percent": _percent(s.swap_total - s.swap_free, s.swap_total),
        "psi_memory_full_avg10": s.psi_value("memory", "full"),
        "psi_io_full_avg10": s.psi_value("io", "full"),
        "mem_total": float(s.mem_total),
        "swap_total": float(s.swap_total),
        "swap_free": float(s.swap_free),
    }


def foreground_pressure(
    snapshot: Snapshot, groups: Sequence[AppGroup], focused_id: str | None, unified: Path | None
) -> dict[str, float]:
    """The focused group's own CPU pressure (cgroup v2 cpu.pressure, percent), where cgroups allow.

    System PSI says someone waited for a CPU; this says the person's own window did. Nothing (not
    zeros) with no focus, on a v1-only machine (`unified` None: collector.cgroups.unified_mount),
    or when the leader's group has no pressure file.
    """
    if focused_id is None or unified is None:
        return {}
    group = next((g for g in groups if g.id == focused_id), None)
    leader = snapshot.processes.get(group.leader) if group is not None else None
    if leader is None or not leader.cgroup:
        return {}
    psi = pressure_in(unified, leader.cgroup, "cpu")
    if psi is None or "cpu.some" not in psi:
        return {}
    out = {"fg_cpu_pressure_some_avg10": psi["cpu.some"].avg10}
    if "cpu.full" in psi:
        out["fg_cpu_pressure_full_avg10"] = psi["cpu.full"].avg10
    return out


def judged(numbers: Mapping[str, float]) -> dict[str, float]:
    """`numbers` plus the alias names the alerts and SLOs use."""
    return {**numbers, **{alias: numbers[name] for alias, name in JUDGED_ALIASES.items() if name in numbers}}


def latency_figures(window: LatencyWindow | None) -> dict[str, float]:
    """The probe's window; nothing at all (not zeros) when there is no probe or no sample yet.

    A stalled window (count 0, latency.stalled) is kept: a starved probe is the worst latency.
    """
    if window is None:
        return {}
    return {
        "latency_p50_ms": window.p50_ms,
        "latency_p95_ms": window.p95_ms,
        "latency_p99_ms": window.p99_ms,
        "latency_max_ms": window.max_ms,
        "latency_missed": float(window.missed),
    }


def wait_roles(
    snapshot: Snapshot,
    focused: AppGroup | None,
    hints: Hints,
    classifications: Mapping[int, Classification],
) -> dict[str, list[ProcessRecord]]:
    """Whose CPU wait is read from schedstat: the focused app's processes, the audio clients and
    the compositor (processes a rule types "compositor"). A role nobody can say (no focus source,
    no audio agent, no compositor found) is left out, so its figures are absent, not 0."""
    procs = snapshot.processes
    roles = {
        "focus": [procs[p] for p in focused.members if p in procs] if focused is not None else [],
        "audio": [procs[p] for p in sorted(hints.audio_pids) if p in procs],
        "compositor": [procs[p] for p, c in classifications.items() if c.type == "compositor" and p in procs],
    }
    return {role: records for role, records in roles.items() if records}


def cpu_wait_figures(waits: Mapping[str, CpuWait]) -> dict[str, float]:
    """Per role: <role>_cpu_wait_ms (ms its threads waited for a CPU per second of the tick,
    summed), <role>_cpu_wait_max_ms (the worst single wait where derivable, else the worst wait per
    slice) and <role>_cpu_wait_pct (the largest share of the tick one thread was runnable but not
    running, percent). Only the roles schedstat measured (collector/schedstat.py)."""
    out: dict[str, float] = {}
    for role, w in waits.items():
        out[f"{role}_cpu_wait_ms"] = w.wait_ms_per_s
        out[f"{role}_cpu_wait_max_ms"] = w.worst_ns / 1e6
        out[f"{role}_cpu_wait_pct"] = 100.0 * w.top_share
    return out


def xrun_figures(count: int | None, by_app: Mapping[str, int]) -> dict[str, float]:
    """audio_xruns (this tick's count) only when some agent counts them: "no source" is no figure,
    never a 0; audio_xruns:<app> for each app that glitched."""
    if count is None:
        return {}
    return {"audio_xruns": float(count), **{f"audio_xruns:{a}": float(n) for a, n in by_app.items() if n}}


def score(
    window: LatencyWindow | None,
    snapshot: Snapshot,
    xruns: int | None = None,
    waits: Mapping[str, CpuWait] | None = None,
) -> float:
    """The tray's score; the apps' waits count through their worst single wait (score.py)."""
    s = snapshot.system
    worst = max((w.worst_ns / 1e6 for w in (waits or {}).values()), default=None)
    return responsiveness_score(
        window,
        s.psi_value("cpu"),
        s.psi_value("memory", "full"),
        s.psi_value("io", "full"),
        xruns,
        app_wait_ms=worst,
    )


def group_cpu(snapshot: Snapshot, groups: Sequence[AppGroup]) -> list[tuple[AppGroup, float]]:
    """The groups that used CPU over the last tick, with their members' CPU (percent of one core).

    Most groups of a desktop sleep through most ticks; only the few with a busy member are summed.
    """
    index = owners(groups)
    used: dict[str, float] = {}
    busy: dict[str, AppGroup] = {}
    for pid, p in snapshot.processes.items():
        if p.cpu_tick > 0 and (g := index.get(pid)) is not None:
            used[g.id] = used.get(g.id, 0.0) + p.cpu_tick
            busy[g.id] = g
    return [(busy[gid], cpu) for gid, cpu in used.items()]


def cpu_by_class(
    used: Sequence[tuple[AppGroup, float]], decisions: Mapping[str, Decision], ncpu: int
) -> dict[str, float]:
    """Percent of the whole machine used by each class's groups over the last tick (every class)."""
    out = {klass.value: 0.0 for klass in CLASS_ORDER}
    for g, cpu in used:
        decision = decisions.get(g.id)
        klass = decision.klass.value if decision is not None else "normal"
        out[klass] += cpu / max(1, ncpu)
    return out


def top_apps(used: Sequence[tuple[AppGroup, float]], limit: int = TOP_APPS) -> list[dict[str, Any]]:
    """The busiest groups of the last tick: name and percent of one core."""
    busy = sorted(((cpu, g.name) for g, cpu in used if cpu > 0), reverse=True)
    return [{"name": name, "cpu": cpu} for cpu, name in busy[:limit]]


def storable(sample: Mapping[str, Any]) -> dict[str, float]:
    """The numeric part of a sample, flattened (cpu_by_class -> cpu_class_<name>), for the log."""
    out: dict[str, float] = {}
    for key, value in sample.items():
        if isinstance(value, (bool, int, float)):
            out[key] = float(value)
        elif key == "cpu_by_class" and isinstance(value, dict):
            out.update({f"cpu_class_{k}": float(v) for k, v in value.items()})
    return out
