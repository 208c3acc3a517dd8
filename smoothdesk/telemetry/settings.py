"""The [store], [probe] and [exporter] settings, read once from the loaded Settings and typed.

No defaults or casts here: config/schema.py holds each option's type, default and range, and the
loader checked them; these only name the values, in the units their users take.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from smoothdesk.config.schema import Settings


@dataclass(frozen=True, slots=True)
class StoreSettings:
    """[store]: the snapshot log; `path` None means snapshots.sqlite in the state directory."""

    enabled: bool
    path: Path | None
    max_age_s: float
    raw_s: float
    max_bytes: int
    hash_cmdlines: bool
    detail_every: float
    processes_per_tick: int

    @classmethod
    def from_settings(cls, settings: Settings) -> StoreSettings:
        s = settings.values["store"]
        return cls(
            enabled=s["enabled"],
            path=Path(s["path"]) if s["path"] else None,
            max_age_s=s["max_age_days"] * 86400,
            raw_s=s["raw_hours"] * 3600,
            max_bytes=s["max_mb"] * 2**20,
            hash_cmdlines=s["hash_cmdlines"],
            detail_every=s["detail_every"],
            processes_per_tick=s["processes_per_tick"],
        )


@dataclass(frozen=True, slots=True)
class ProbeSettings:
    """[probe]: the latency sampler (its wake-up interval in seconds) and the schedstat reader."""

    enabled: bool
    interval_s: float
    schedstat: bool

    @classmethod
    def from_settings(cls, settings: Settings) -> ProbeSettings:
        s = settings.values["probe"]
        return cls(s["enabled"], s["interval_ms"] / 1000.0, s["schedstat"])


@dataclass(frozen=True, slots=True)
class ExporterSettings:
    """[exporter]: the Prometheus endpoint."""

    enabled: bool
    address: str
    port: int
    allow_remote: bool
    top_apps: int

    @classmethod
    def from_settings(cls, settings: Settings) -> ExporterSettings:
        s = settings.values["exporter"]
        return cls(
            enabled=s["enabled"],
            address=s["address"],
            port=s["port"],
            allow_remote=s["allow_remote"],
            top_apps=s["top_apps"],
        )
