"""The one typed settings schema: every option defined once, with its description."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Option:
    """One setting: its section, key, type, default, allowed range and what it does."""

    section: str
    key: str
    type: type
    default: Any
    description: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()


OPTIONS: tuple[Option, ...] = (
    Option("helper", "tick", float, 1.0, "Seconds between ticks of the main loop.", 0.05, 60.0),
    Option(
        "helper",
        "full_scan_every",
        float,
        15.0,
        "Seconds between re-reads of every known process; between them only busy, recently busy "
        "and new processes are read, and CPU time the machine spent that no known process "
        "accounts for triggers a sweep at once.",
        0.5,
        600.0,
    ),
    Option("helper", "dry_run", bool, False, "Decide and log, but change nothing."),
    Option(
        "helper",
        "netlink",
        bool,
        True,
        "Use the kernel's proc connector to act on new processes within milliseconds.",
    ),
    Option(
        "rules",
        "ananicy_dirs",
        list,
        ["/etc/ananicy.d"],
        "ananicy-cpp rule directories to import unchanged (missing ones are skipped).",
    ),
    Option("rules", "extra_dirs", list, [], "More SmoothDesk TOML rule directories, loaded last."),
    Option(
        "engine",
        "noisy_cpu_percent",
        float,
        70.0,
        "An unfocused group using this much of one core over 10 s, while others wait, "
        "is demoted to background.",
        5.0,
        10000.0,
    ),
    Option(
        "engine",
        "demote_after",
        float,
        2.0,
        "Seconds the noisy-neighbour condition must hold before demoting.",
        0.0,
        600.0,
    ),
    Option(
        "engine",
        "release_after",
        float,
        10.0,
        "Seconds a demoted noisy group must stay quiet before it is released.",
        0.0,
        3600.0,
    ),
    Option(
        "actuator",
        "cgroup",
        str,
        "auto",
        "cgroup lever: auto (systemd where it manages cgroup v2, else direct cgroupfs), "
        "systemd, v2, v1 or off.",
        choices=("auto", "systemd", "v2", "v1", "off"),
    ),
    Option(
        "actuator",
        "autogroup",
        bool,
        True,
        "Lower a session's autogroup nice when every process in it is demoted.",
    ),
)

SECTIONS: tuple[str, ...] = tuple(dict.fromkeys(o.section for o in OPTIONS))


@dataclass(frozen=True, slots=True)
class Settings:
    """Validated settings: values[section][key], plus which file set each one."""

    values: dict[str, dict[str, Any]]
    origins: dict[str, str] = field(default_factory=dict)

    def get(self, section: str, key: str) -> Any:
        return self.values[section][key]


def defaults() -> Settings:
    values: dict[str, dict[str, Any]] = {s: {} for s in SECTIONS}
    for opt in OPTIONS:
        values[opt.section][opt.key] = list(opt.default) if isinstance(opt.default, list) else opt.default
    return Settings(values, {f"{o.section}.{o.key}": "default" for o in OPTIONS})
