"""The one typed settings schema: every option defined once, with its description."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from smoothdesk.config.option import Option
from smoothdesk.config.slo_schema import (
    SAMPLE_METRICS,
    SLO_DEFAULTS,
    SLO_FIELDS,
    check_slo,
    parse_duration,
)
from smoothdesk.core.engine_config import EngineConfig, EngineConfigError

__all__ = [
    "ALERT_THRESHOLDS",
    "ENGINE_OPTIONS",
    "OPTIONS",
    "SAMPLE_METRICS",
    "SECTIONS",
    "SECTION_CHECKS",
    "SLO_DEFAULTS",
    "SLO_FIELDS",
    "TABLE_ARRAYS",
    "Option",
    "Settings",
    "check_slo",
    "defaults",
    "parse_duration",
]


# Alert thresholds: (key, what is measured, warning, critical). memory_available alerts when it
# falls below its thresholds, the others when they rise above.
ALERT_THRESHOLDS: tuple[tuple[str, str, float, float], ...] = (
    ("cpu_busy", "CPU busy, percent of all cores", 90.0, 98.0),
    ("memory_available", "memory available, percent of RAM (alerts when below)", 10.0, 5.0),
    ("swap_used", "swap used, percent of swap", 50.0, 80.0),
    ("psi_cpu", "CPU pressure, PSI some avg10 percent", 40.0, 70.0),
    ("psi_memory", "memory pressure, PSI some avg10 percent", 10.0, 30.0),
    ("psi_io", "IO pressure, PSI full avg10 percent", 20.0, 50.0),
    ("latency_p99", "scheduling latency, the probe's p99 in ms", 10.0, 50.0),
    ("focus_wait", "the focused app's CPU wait, ms per second", 100.0, 300.0),
    ("disk_used", "disk used, percent of each real filesystem", 90.0, 97.0),
)


def _bounds(meta: Any) -> tuple[float, float]:
    return meta["minimum"], meta["maximum"]


# The [engine] options are EngineConfig's fields: default, range and description live there alone.
ENGINE_OPTIONS: tuple[Option, ...] = tuple(
    Option("engine", f.name, float, f.default, f.metadata["doc"], *_bounds(f.metadata))
    for f in fields(EngineConfig)
)


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
    *ENGINE_OPTIONS,
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
        "Lower a session's autogroup nice when every process in it is demoted (read at start).",
    ),
    Option(
        "memory",
        "protect",
        bool,
        True,
        "Under memory pressure, protect the focused application (and critical ones) from the OOM "
        "killer and from reclaim, and name the largest background memory user in an alert.",
    ),
    Option(
        "memory",
        "psi_some_threshold",
        float,
        10.0,
        'Memory PSI "some" avg10 (percent) at which protection starts; it ends after 30 s '
        "below half of this.",
        1.0,
        100.0,
    ),
    Option(
        "memory",
        "oom_score_adj",
        int,
        -500,
        "oom_score_adj for protected processes (only ever lowered). -500 makes the kernel pick "
        "them only when they hold about half of memory more than the next candidate, so a leaking "
        "focused app can still be killed; -1000 (never kill) is not allowed. Where lowering is "
        "refused (no CAP_SYS_RESOURCE), the largest background groups get the opposite value.",
        -999.0,
        0.0,
    ),
    Option(
        "memory",
        "memory_low",
        int,
        256,
        "MemoryLow= in MiB for the focused application's systemd unit while protected "
        "(cgroup v2 with systemd only; 0 turns it off).",
        0.0,
        1048576.0,
    ),
    Option(
        "memory",
        "kill",
        bool,
        False,
        'Explicit opt-in: SIGKILL the largest eligible background group when memory PSI "full" '
        "stays above kill_psi_full_threshold for kill_after seconds. Never the focused, critical, "
        "interactive or user-tuned groups.",
    ),
    Option(
        "memory",
        "kill_psi_full_threshold",
        float,
        60.0,
        'Memory PSI "full" avg10 (percent) that must hold for kill_after seconds before a kill '
        "(the systemd-oomd default limit).",
        1.0,
        100.0,
    ),
    Option(
        "memory",
        "kill_after",
        float,
        30.0,
        'Seconds memory PSI "full" must stay above its threshold before a kill (systemd-oomd\'s '
        "default duration).",
        1.0,
        3600.0,
    ),
    Option(
        "gpu",
        "enabled",
        bool,
        True,
        "Read GPU use (DRM fdinfo, amdgpu sysfs, NVML when nvidia-ml-py is installed).",
    ),
    Option(
        "ranker",
        "model",
        str,
        "default",
        "Attention model the policy consults: 'default' (the one shipped, see docs/ml.md), 'off', or "
        "the path of an .onnx file made by smoothdesk-train (its .json metadata beside it).",
    ),
    Option(
        "store", "enabled", bool, True, "Keep the snapshot log (SQLite) of metrics, groups and decisions."
    ),
    Option(
        "store",
        "path",
        str,
        "",
        "Snapshot log file; empty means snapshots.sqlite in the helper's state directory.",
    ),
    Option(
        "store", "max_age_days", float, 7.0, "Drop snapshot log rows older than this many days.", 0.01, 3650.0
    ),
    Option(
        "store",
        "raw_hours",
        float,
        48.0,
        "Hours of full-resolution ticks (every figure, group and process row); older ticks are rolled "
        "up into per-minute rollups (count, sum, min, max of each figure) kept until max_age_days, "
        "from which SLO budgets and reports still judge every minute, and their group rows are "
        "thinned to one detail tick per minute (process rows dropped), from which the attention "
        "model trains and reports count time per app and class. At a 1 s tick with 60 groups a day "
        "of raw ticks is about 89 MiB, a day of rollups 1.1 MiB and of thinned group rows 5.5 MiB "
        "(bench/bench_store.py), so 48 h raw plus 5 days rolled up and thinned is about 212 MiB.",
        0.0,
        87600.0,
    ),
    Option(
        "store",
        "max_mb",
        int,
        320,
        "Keep the snapshot log file under this many MiB: past it, raw ticks are rolled up early, "
        "then the oldest rolled-up minutes dropped with their thinned group rows. The default holds "
        "the default 48 h of raw ticks and 7 days of rollups and thinned group rows (about 212 MiB "
        "at a 1 s tick with 60 groups, bench/bench_store.py) with a margin of 1.5x.",
        1,
        1048576,
    ),
    Option(
        "store",
        "hash_cmdlines",
        bool,
        False,
        "Store a salted SHA-256 of each command line instead of the command line itself.",
    ),
    Option(
        "store",
        "detail_every",
        float,
        30.0,
        "Seconds between logging every group and the busiest processes (the attention model's "
        "training rows); the per-tick figures are logged every tick. With 1000 groups, building "
        "and writing their rows every 10 s cost the helper about 0.13 % of a core, every 30 s a "
        "third of that (bench/bench_overhead.py); the model's label looks 60 s ahead.",
        0.0,
        3600.0,
    ),
    Option(
        "store",
        "processes_per_tick",
        int,
        20,
        "Processes logged per tick: this many of the busiest, plus every one whose group is not "
        "in class normal.",
        0,
        10000,
    ),
    Option(
        "exporter",
        "enabled",
        bool,
        False,
        "Serve smoothdesk_* metrics for Prometheus over HTTP at /metrics.",
    ),
    Option(
        "exporter",
        "address",
        str,
        "127.0.0.1",
        "Address the exporter listens on; anything but loopback also needs exporter.allow_remote.",
    ),
    Option("exporter", "port", int, 9477, "TCP port of the exporter.", 1, 65535),
    Option(
        "exporter",
        "allow_remote",
        bool,
        False,
        "Allow exporter.address to be a non-loopback address (the metrics name your applications).",
    ),
    Option(
        "exporter",
        "top_apps",
        int,
        10,
        'Applications given their own label in per-app metrics; the rest are summed as "other".',
        0,
        100,
    ),
    Option("probe", "enabled", bool, True, "Measure scheduling latency with a small sampler process."),
    Option(
        "probe",
        "interval_ms",
        float,
        100.0,
        "Milliseconds between the sampler's wake-up deadlines (each wake-up costs ~25-45 us of CPU "
        "on a 2-vCPU VM: 100 ms keeps it near 0.04 % of a core; the apps' own wait comes from schedstat).",
        0.5,
        1000.0,
    ),
    Option(
        "probe",
        "schedstat",
        bool,
        True,
        "Read how long the focused app's, the audio clients' and the compositor's threads waited "
        "for a CPU each tick (/proc/PID/task/TID/schedstat; no extra wake-ups).",
    ),
    *(
        Option("alerts", f"{key}_{level}", float, value, f"{level.capitalize()} threshold: {what}.", 0.0)
        for key, what, warning, critical in ALERT_THRESHOLDS
        for level, value in (("warning", warning), ("critical", critical))
    ),
    Option(
        "alerts",
        "raise_after",
        float,
        5.0,
        "Seconds a value must stay past a threshold before its alert is raised or escalated.",
        0.0,
        3600.0,
    ),
    Option(
        "alerts",
        "clear_after",
        float,
        30.0,
        "Seconds a value must stay back past the clear margin before its alert is resolved.",
        0.0,
        3600.0,
    ),
    Option(
        "alerts",
        "clear_margin",
        float,
        5.0,
        "Hysteresis, percent of the threshold: a 30 % warning clears only below 28.5 %.",
        0.0,
        90.0,
    ),
    Option(
        "slo",
        "objectives",
        list,
        SLO_DEFAULTS,
        "Service level objectives, one [[slo]] table each (keys: see SLO_FIELDS); a file that "
        "has [[slo]] tables replaces the whole list.",
    ),
)

SECTIONS: tuple[str, ...] = tuple(dict.fromkeys(o.section for o in OPTIONS))


# Sections given as TOML arrays of tables: section -> (key in values[section], fields, whole-entry
# check). Each entry keeps "source" (file:line of its header); its first field names it, uniquely.
EntryCheck = Callable[[dict[str, Any]], tuple[str, str] | None]
TABLE_ARRAYS: dict[str, tuple[str, tuple[Option, ...], EntryCheck]] = {
    "slo": ("objectives", SLO_FIELDS, check_slo),
}


def check_engine(values: dict[str, Any]) -> tuple[str, str] | None:
    """The engine's checks across options (release below noisy, ...): (key, problem) or None."""
    try:
        EngineConfig(**values)
    except EngineConfigError as exc:
        return exc.key, str(exc)
    return None


# Checks of a whole section, run on the merged values after each file: section -> check.
SECTION_CHECKS: dict[str, Callable[[dict[str, Any]], tuple[str, str] | None]] = {
    "engine": check_engine,
}


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
