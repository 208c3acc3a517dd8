"""The [helper], [rules], [actuator], [gpu] and [ranker] settings and memory.kill, read once and typed.

Like telemetry/settings.py: no defaults or casts, the schema and the loader own those.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from smoothdesk.config.schema import Settings
from smoothdesk.core.engine_config import EngineConfig


@dataclass(frozen=True, slots=True)
class HelperSettings:
    """What the daemon, the rule book and the telemetry hub read besides their own sections."""

    tick: float
    full_scan_every: float
    dry_run: bool
    netlink: bool
    ananicy_dirs: tuple[Path, ...]
    extra_rule_dirs: tuple[Path, ...]
    cgroup: str
    autogroup: bool
    gpu: bool
    ranker_model: str
    memory_kill: bool  # re-read on reload, unlike the memory guard's other settings

    @classmethod
    def from_settings(cls, settings: Settings) -> HelperSettings:
        v = settings.values
        return cls(
            tick=v["helper"]["tick"],
            full_scan_every=v["helper"]["full_scan_every"],
            dry_run=v["helper"]["dry_run"],
            netlink=v["helper"]["netlink"],
            ananicy_dirs=tuple(Path(p) for p in v["rules"]["ananicy_dirs"]),
            extra_rule_dirs=tuple(Path(p) for p in v["rules"]["extra_dirs"]),
            cgroup=v["actuator"]["cgroup"],
            autogroup=v["actuator"]["autogroup"],
            gpu=v["gpu"]["enabled"],
            ranker_model=v["ranker"]["model"],
            memory_kill=v["memory"]["kill"],
        )


def engine_config(settings: Settings) -> EngineConfig:
    """The [engine] section as the engine takes it (the loader checked every field)."""
    return EngineConfig(**settings.values["engine"])
