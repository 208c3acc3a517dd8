"""The tray's states: which one the helper's figures mean, its words, and its cached icon."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Any

from PySide6.QtGui import QIcon

from smoothdesk.config.resources import resource_dir

ICON_DIR = resource_dir("icons")

# Responsiveness from the helper's Metrics "score" (0-100, higher is better) when it sends one.
SCORE_OK, SCORE_WARNING = 70.0, 40.0
# Otherwise from pressure stall (PSI "some" avg10, percent of time some task waited):
# CPU waits up to 15% are normal on a busy desktop, 40% is felt; any sustained memory stall
# (reclaim, swap-in) is felt sooner, so its bounds are lower.
PSI_CPU_WARNING, PSI_CPU_CRITICAL = 15.0, 40.0
PSI_MEMORY_WARNING, PSI_MEMORY_CRITICAL = 2.0, 10.0


class TrayState(Enum):
    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"
    PAUSED = "paused"
    DISCONNECTED = "disconnected"


WORDS = {
    TrayState.OK: "responsive",
    TrayState.WARNING: "under pressure",
    TrayState.CRITICAL: "struggling",
    TrayState.PAUSED: "paused",
    TrayState.DISCONNECTED: "helper not reachable",
}


def responsiveness(sample: dict[str, Any]) -> TrayState:
    """OK, WARNING or CRITICAL from one Metrics sample (or a GetStatus reply, which has the PSI keys)."""
    score = sample.get("score")
    if isinstance(score, int | float):
        if score >= SCORE_OK:
            return TrayState.OK
        return TrayState.WARNING if score >= SCORE_WARNING else TrayState.CRITICAL
    cpu = float(sample.get("psi_cpu_some", 0.0))
    memory = float(sample.get("psi_memory_some", 0.0))
    if cpu >= PSI_CPU_CRITICAL or memory >= PSI_MEMORY_CRITICAL:
        return TrayState.CRITICAL
    if cpu >= PSI_CPU_WARNING or memory >= PSI_MEMORY_WARNING:
        return TrayState.WARNING
    return TrayState.OK


def tray_state(connected: bool, status: dict[str, Any], sample: dict[str, Any]) -> TrayState:
    if not connected:
        return TrayState.DISCONNECTED
    if status.get("paused"):
        return TrayState.PAUSED
    return responsiveness(sample or status)


def summary(state: TrayState, status: dict[str, Any], sample: dict[str, Any]) -> str:
    """The one-line tooltip: 'SmoothDesk: responsive · 3 apps demoted · CPU 82%'."""
    parts = [f"SmoothDesk: {WORDS[state]}"]
    if state is TrayState.DISCONNECTED:
        return parts[0]
    if state is TrayState.PAUSED:
        left = float(status.get("paused_for", 0.0))
        parts[0] += f" for {_duration(left)}" if 0 < left < 1e9 else " until resumed"
        return parts[0]
    figures = sample or status
    demoted = int(figures.get("demoted", status.get("demoted", 0)))
    parts.append(f"{demoted} app{'' if demoted == 1 else 's'} demoted")
    if "cpu_busy" in figures:
        parts.append(f"CPU {float(figures['cpu_busy']):.0f}%")
    if isinstance(figures.get("score"), int | float):
        parts.append(f"score {float(figures['score']):.0f}")
    return " · ".join(parts)


def _duration(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


class IconCache:
    """One QIcon per state, rendered from the package data icons/<state>.svg on first use."""

    def __init__(self, directory: Path = ICON_DIR) -> None:
        self.directory = directory
        self._icons: dict[TrayState, QIcon] = {}

    def path(self, state: TrayState) -> Path:
        return self.directory / f"{state.value}.svg"

    def icon(self, state: TrayState) -> QIcon:
        icon = self._icons.get(state)
        if icon is None:
            icon = QIcon(str(self.path(state)))
            self._icons[state] = icon
        return icon
