"""What wiring.build hands the daemon, and who the daemon tells about a change."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from smoothdesk.actuator import Actuator
from smoothdesk.collector.tracker import ProcessTable
from smoothdesk.config.schema import Settings
from smoothdesk.helper.attention import Attention
from smoothdesk.helper.history import History
from smoothdesk.helper.pins import PinStore
from smoothdesk.helper.reporters import ReportBook
from smoothdesk.helper.rulebook import RuleBook
from smoothdesk.helper.telemetry import Telemetry
from smoothdesk.policy.memory import MemoryGuard


@dataclass(frozen=True, slots=True)
class Parts:
    """Everything the daemon runs; it never builds a part itself."""

    user_mode: bool
    uid: int
    dry_run: bool
    tick_seconds: float
    settings: Settings
    load_settings: Callable[[], Settings]  # for reload; raises on a bad config
    table: ProcessTable
    rulebook: RuleBook
    actuator: Actuator
    cgroup_backend: str  # its name, "off" for none
    pins: PinStore
    attention: Attention  # the focus tracker and the ranker, a stage before the engine
    memory: MemoryGuard  # the memory stage's planner, after the tick's figures
    telemetry: Telemetry
    history: History
    reports: ReportBook


@dataclass(slots=True)
class Listeners:
    """Callbacks run from the loop: apps changed (their ids), status changed, a Metrics sample, an alert."""

    apps_changed: list[Callable[[list[str]], None]] = field(default_factory=list)
    status_changed: list[Callable[[], None]] = field(default_factory=list)
    metrics: list[Callable[[dict[str, Any]], None]] = field(default_factory=list)
    alert: list[Callable[[dict[str, Any]], None]] = field(default_factory=list)
