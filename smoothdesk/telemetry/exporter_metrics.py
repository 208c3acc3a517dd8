"""The Prometheus families of one tick: smoothdesk_* gauges with fixed or capped label sets."""

from __future__ import annotations

import heapq
import logging
import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from smoothdesk.core.classes import CLASS_ORDER
from smoothdesk.core.observation import GroupObservation
from smoothdesk.telemetry.exposition import Gauge, render

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Latest:
    """What the exporter shows: the last tick's metrics and group observations."""

    sample: Mapping[str, float | int]
    observations: Sequence[GroupObservation] = field(default_factory=tuple)


OTHER = "other"
PSI_RESOURCES = ("cpu", "io", "memory")
MAX_EXTRA_METRICS = 32
MAX_LABEL = 64
_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")
# Sample keys with a metric of their own below; any other numeric key is exported as smoothdesk_<key>.
WAIT_ROLES = ("focus", "audio", "compositor")
# The apps' CPU waits (helper samples <role>_cpu_wait*): one family per figure, labelled by role.
WAIT_FAMILIES = (
    (
        "_cpu_wait_ms",
        "smoothdesk_cpu_wait_ms_per_second",
        "Time its threads waited for a CPU, ms per second.",
    ),
    ("_cpu_wait_max_ms", "smoothdesk_cpu_wait_worst_ms", "Worst single wait for a CPU (else per slice), ms."),
    ("_cpu_wait_pct", "smoothdesk_cpu_wait_share_percent", "Largest share of the tick a thread waited."),
)
_SPECIAL = (
    {"time", "cpu_busy", "mem_available", "demoted", "tick_cost_ms"}
    | {f"psi_{r}_some" for r in PSI_RESOURCES}
    | {role + suffix for role in WAIT_ROLES for suffix, _, _ in WAIT_FAMILIES}
)


def top_with_other(values: Mapping[str, float], limit: int) -> dict[str, float]:
    """The `limit` largest entries by value, and the rest summed under "other" (always present)."""
    merged: dict[str, float] = defaultdict(float)
    for name, value in values.items():
        merged[name[:MAX_LABEL]] += value
    # A partial sort: with 1000 apps and a limit of 10, sorting them all was most of a scrape.
    candidates = [kv for kv in merged.items() if kv[0] != OTHER]
    out = dict(heapq.nsmallest(limit, candidates, key=lambda kv: (-kv[1], kv[0])))
    out[OTHER] = sum(v for k, v in merged.items() if k not in out)
    return out


_gauge = Gauge.single
_by_label = Gauge.by_label


def sample_families(s: Mapping[str, float | int]) -> Iterator[Gauge]:
    """The smoothdesk_* families of one tick's sample, with fixed label sets (row_families has
    the groups' families, capped at top_apps + 1)."""
    if "cpu_busy" in s:
        yield _gauge("smoothdesk_cpu_busy_percent", "CPU busy over the last tick, percent.", s["cpu_busy"])
    if "mem_available" in s:
        yield _gauge("smoothdesk_memory_available_bytes", "MemAvailable.", s["mem_available"])
    if "tick_cost_ms" in s:
        yield _gauge(
            "smoothdesk_tick_cost_seconds", "CPU time of the helper's last tick.", s["tick_cost_ms"] / 1000
        )
    if "demoted" in s:
        yield _gauge("smoothdesk_demoted_groups", "Groups in a demoted class.", s["demoted"])
    psi = {r: float(s[f"psi_{r}_some"]) for r in PSI_RESOURCES if f"psi_{r}_some" in s}
    if psi:
        yield _by_label("smoothdesk_psi_some_percent", "PSI some avg10, percent.", "resource", psi)
    for suffix, name, doc in WAIT_FAMILIES:
        # Only the roles measured this tick: a role with no source has no series, never a 0.
        waits = {role: float(s[role + suffix]) for role in WAIT_ROLES if role + suffix in s}
        if waits:
            yield _by_label(name, doc, "role", waits)
    extras = sorted(k for k in s if k not in _SPECIAL and _NAME.match(k))[:MAX_EXTRA_METRICS]
    for key in extras:
        yield _gauge(f"smoothdesk_{key}", f"Helper metric {key}.", s[key])


def row_families(observations: Sequence[GroupObservation], top_apps: int) -> list[Gauge]:
    """The families drawn from the groups' rows: per class, and the top apps by CPU and memory."""
    count: dict[str, float] = dict.fromkeys(CLASS_ORDER, 0.0)
    cpu = dict(count)
    rss = dict(count)
    app_cpu: dict[str, float] = defaultdict(float)
    app_rss: dict[str, float] = defaultdict(float)
    for obs in observations:
        klass, name, tick, rss_bytes = obs.klass, obs.name, obs.cpu_tick, obs.rss_bytes
        if klass in count:  # an unknown class would be an unbounded label: leave it out
            count[klass] += 1
            cpu[klass] += tick
            rss[klass] += rss_bytes
        app_cpu[name] += tick
        app_rss[name] += rss_bytes
    return [
        _by_label("smoothdesk_groups", "Application groups per class.", "class", count),
        _by_label("smoothdesk_class_cpu_percent", "CPU of the groups in each class.", "class", cpu),
        _by_label("smoothdesk_class_rss_bytes", "Resident memory of the groups in each class.", "class", rss),
        _by_label(
            "smoothdesk_app_cpu_percent", "CPU of the busiest applications.", "app",
            top_with_other(app_cpu, top_apps),
        ),
        _by_label(
            "smoothdesk_app_rss_bytes", "Memory of the largest applications.", "app",
            top_with_other(app_rss, top_apps),
        ),
    ]  # fmt: skip


class MetricsPage:
    """The /metrics body: rendered once per tick, however often it is scraped."""

    def __init__(self, source: Callable[[], Latest | None], top_apps: int = 10) -> None:
        self.source = source
        self.top_apps = top_apps
        # The tick's sample dict, not its rows: holding 1000 rows past their tick costs the GC.
        self._for: Mapping[str, float | int] | None = None
        self._body = b""
        # The groups' rows change every store.detail_every (30 s), the sample every tick: the
        # rows' families (1000 rows summed) are kept while the rows stay the same, known by a
        # key that holds no row (their list's id, length and tick time).
        self._rows_key: tuple[int, int, float] | None = None
        self._rows: list[Gauge] = []

    def _families(self, latest: Latest) -> list[Gauge]:
        obs = latest.observations
        key = (id(obs), len(obs), obs[0].ts if obs else 0.0)
        if key != self._rows_key:
            self._rows_key, self._rows = key, row_families(obs, self.top_apps)
        return [*sample_families(latest.sample), *self._rows]

    def body(self) -> bytes:
        try:
            latest = self.source()
            if latest is not None and latest.sample is self._for:
                return self._body
            metrics = self._families(latest) if latest is not None else []
        except Exception:
            log.exception("exporter: reading the latest metrics failed")
            latest, metrics = None, []
        up = _gauge("smoothdesk_up", "1 when the helper has a recent tick to show.", latest is not None)
        body = render([up, *metrics])
        if latest is not None:
            self._for, self._body = latest.sample, body
        return body
