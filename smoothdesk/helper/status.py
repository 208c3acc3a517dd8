"""The helper's state as one frozen value: what the controller and the bus read, never write."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from smoothdesk.config.schema import Settings
from smoothdesk.core.decision import Decision, Pin
from smoothdesk.core.group import AppGroup
from smoothdesk.core.process import ProcessRecord
from smoothdesk.core.snapshot import Snapshot, SystemStats

if TYPE_CHECKING:
    from smoothdesk.helper.parts import Parts


@dataclass(frozen=True, slots=True)
class HelperStatus:
    """Built by Daemon.status() after a change, from copies, so a later tick cannot move it.

    Times are monotonic; what depends on the reader's clock (paused, idle time) is a method.
    """

    user_mode: bool
    uid: int
    dry_run: bool
    tick_seconds: float
    started: float
    ticks: int
    paused_until: float | None
    groups: Mapping[str, AppGroup]
    decisions: Mapping[str, Decision]
    processes: Mapping[int, ProcessRecord]
    system: SystemStats | None  # None before the first tick
    pins: Mapping[str, Pin]
    settings: Settings
    rules: int
    rule_diagnostics: int
    rule_listing: Sequence[dict[str, Any]]
    managed_processes: int
    netlink: bool
    cgroup_backend: str
    tick_cost: float  # seconds of CPU, smoothed
    stage_costs: Mapping[str, float]
    fast_path_count: int
    input_idle_since: float | None  # None while no session agent reports input
    reporters: int
    unmeasured: tuple[str, ...]

    def paused(self, now: float) -> bool:
        return self.paused_until is not None and self.paused_until > now

    def input_idle(self, now: float) -> float | None:
        """Seconds since the most recently active reporting session's input; None if none reported."""
        return None if self.input_idle_since is None else max(0.0, now - self.input_idle_since)


def freeze(
    parts: Parts,
    snapshot: Snapshot | None,
    groups: dict[str, AppGroup],
    decisions: dict[str, Decision],
    settings: Settings,
    *,
    started: float,
    ticks: int,
    paused_until: float | None,
    tick_cost: float,
    stage_costs: dict[str, float],
    fast_path_count: int,
    netlink: bool,
) -> HelperStatus:
    """The daemon replaces its groups and decisions dicts rather than changing them; the
    processes (the fast path adds to a tick's), pins and stage costs are copied."""
    rulebook, reports = parts.rulebook, parts.reports
    return HelperStatus(
        user_mode=parts.user_mode,
        uid=parts.uid,
        dry_run=parts.dry_run,
        tick_seconds=parts.tick_seconds,
        started=started,
        ticks=ticks,
        paused_until=paused_until,
        groups=MappingProxyType(groups),
        decisions=MappingProxyType(decisions),
        processes=MappingProxyType(dict(snapshot.processes) if snapshot is not None else {}),
        system=snapshot.system if snapshot is not None else None,
        pins=MappingProxyType(dict(parts.pins.pins)),
        settings=settings,
        rules=rulebook.count,
        rule_diagnostics=len(rulebook.diagnostics),
        rule_listing=rulebook.listing(),
        managed_processes=len(parts.actuator.managed_keys()),
        netlink=netlink,
        cgroup_backend=parts.cgroup_backend,
        tick_cost=tick_cost,
        stage_costs=MappingProxyType(dict(stage_costs)),
        fast_path_count=fast_path_count,
        input_idle_since=reports.idle_since(),
        reporters=len(reports.reports),
        unmeasured=tuple(reports.unknown()),
    )
