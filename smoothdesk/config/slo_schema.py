"""The figures SLOs and alerts can watch, and the [[slo]] tables: fields, checks and defaults."""

from __future__ import annotations

import re
from typing import Any

from smoothdesk.config.option import Option

# The per-tick figures the helper hands to SLOs and alerts (names in telemetry samples): percent
# as the kernel gives PSI, milliseconds for latency, counts per tick for xruns. The apps' CPU
# waits (helper/samples.py cpu_wait_figures) per role: <role>_cpu_wait_ms in ms per second of
# the tick, <role>_cpu_wait_max_ms the worst single wait in ms, <role>_cpu_wait_pct a percent.
SAMPLE_METRICS: tuple[str, ...] = (
    "latency_p50_ms",
    "latency_p95_ms",
    "latency_p99_ms",
    "latency_max_ms",
    "latency_missed",
    "psi_cpu_some_avg10",
    "psi_memory_some_avg10",
    "psi_memory_full_avg10",
    "psi_io_some_avg10",
    "psi_io_full_avg10",
    "fg_cpu_pressure_some_avg10",
    "fg_cpu_pressure_full_avg10",
    "cpu_busy_percent",
    "memory_available_percent",
    "swap_used_percent",
    "audio_xruns",
    "score",
    *(
        f"{role}_cpu_wait{kind}"
        for role in ("focus", "audio", "compositor")
        for kind in ("_ms", "_max_ms", "_pct")
    ),
)


def parse_duration(text: str) -> float:
    """Seconds in a duration such as 90s, 5m, 1h or 7d."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([smhd])", text.strip())
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"{text!r} is not a duration like 30s, 5m, 1h or 7d")
    return float(match.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


# One [[slo]] table. A window is good when the metric's aggregate over the samples in it (worst:
# the largest for < and <=, the smallest for > and >=; or mean) satisfies `op threshold`.
SLO_FIELDS: tuple[Option, ...] = (
    Option("slo", "name", str, None, "Unique name of the objective."),
    Option("slo", "metric", str, None, "Per-tick figure it watches.", choices=SAMPLE_METRICS),
    Option("slo", "op", str, None, "Comparison a good value passes.", choices=("<", "<=", ">", ">=", "==")),
    Option("slo", "threshold", float, None, "Value compared against, in the metric's units."),
    Option("slo", "objective", float, 0.99, "Share of windows that must be good.", 0.5, 0.99999),
    Option("slo", "window", str, "1m", "Length of one good-or-bad window, e.g. 1m."),
    Option(
        "slo",
        "budget_period",
        str,
        "7d",
        "Rolling period of the error budget; the burn-rate alert windows are fixed fractions of it "
        "(P/720 and P/120), so with 1-minute windows a period under a few days pages on one bad window.",
    ),
    Option(
        "slo", "aggregate", str, "worst", "How a window's samples are combined.", choices=("worst", "mean")
    ),
)


def check_slo(entry: dict[str, Any]) -> tuple[str, str] | None:
    """(key, problem) for an [[slo]] table whose fields are each valid but do not fit together."""
    try:
        window = parse_duration(entry["window"])
    except ValueError as exc:
        return "window", str(exc)
    try:
        period = parse_duration(entry["budget_period"])
    except ValueError as exc:
        return "budget_period", str(exc)
    if period < 10 * window or period % window:
        return "budget_period", f"must be a whole number of windows, at least 10 ({entry['window']})"
    return None


def _slo(name: str, metric: str, op: str, threshold: float, objective: float) -> dict[str, Any]:
    return {
        "name": name,
        "metric": metric,
        "op": op,
        "threshold": threshold,
        "objective": objective,
        "window": "1m",
        "budget_period": "7d",
        "aggregate": "worst",
        "source": "default",
    }


SLO_DEFAULTS: list[dict[str, Any]] = [
    _slo("sched-p99", "latency_p99_ms", "<", 4.0, 0.99),
    _slo("no-xruns", "audio_xruns", "==", 0.0, 0.995),
    _slo("cpu-psi", "psi_cpu_some_avg10", "<", 20.0, 0.99),
    # A wait over 10 ms is more than half a 60 Hz frame that the window you are using sat ready
    # to run; a minute with one is bad. No focus source: no figure, and the minute counts neither way.
    _slo("focus-wait", "focus_cpu_wait_max_ms", "<", 10.0, 0.99),
]
