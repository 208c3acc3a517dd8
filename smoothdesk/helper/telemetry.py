"""The helper's telemetry: apps' CPU wait, latency probe, snapshot log, SLOs, alerts, GPU, exporter.

It only observes: it reads the tick's snapshot, decisions, the attention stage's focus and the
memory stage's plan, and changes nothing. The daemon calls `observe_focus`, `figures` and
`after_tick` once per tick, from the loop that owns all state. Every part is optional and fails
alone: an unwritable log or a busy exporter port is logged and reported, and the helper goes on
managing the desktop without it.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from smoothdesk.collector.cgroups import probe_layout
from smoothdesk.collector.diskspace import disk_usage
from smoothdesk.collector.gpu import GpuReader
from smoothdesk.collector.schedstat import CpuWait, SchedstatReader
from smoothdesk.config.schema import Settings
from smoothdesk.core.cgroup_layout import CgroupLayout
from smoothdesk.core.decision import Decision, Hints
from smoothdesk.core.errors import SmoothDeskError
from smoothdesk.core.group import AppGroup, Classification
from smoothdesk.core.observation import GroupObservation
from smoothdesk.core.snapshot import Snapshot
from smoothdesk.helper import samples
from smoothdesk.helper.attention import Attention
from smoothdesk.helper.reporters import Xruns, xrun_apps
from smoothdesk.helper.settings import HelperSettings
from smoothdesk.ml.observe import FocusEvent
from smoothdesk.policy.memory import MemoryPlan, MemorySettings
from smoothdesk.telemetry.alerts import AlertEngine, AlertEvent, AlertSettings
from smoothdesk.telemetry.exporter import Exporter
from smoothdesk.telemetry.probe import LatencyProbe
from smoothdesk.telemetry.sampler import default_cache, sampler_binary
from smoothdesk.telemetry.settings import ExporterSettings, ProbeSettings, StoreSettings
from smoothdesk.telemetry.slo import SloStatus, slos_from_settings
from smoothdesk.telemetry.slo_resume import ReplayingSloTracker
from smoothdesk.telemetry.store import SnapshotStore
from smoothdesk.telemetry.writer import StoreWriter

log = logging.getLogger("smoothdesk.helper")

DISK_EVERY = 30.0  # seconds between filesystem usage reads


class Telemetry:
    """Owns the telemetry parts; see the module docstring for when the daemon calls in."""

    def __init__(
        self,
        settings: Settings,
        *,
        user_mode: bool,
        uid: int,
        dry_run: bool,
        state_dir: Path,
        sys_root: Path = Path("/sys"),
        cgroups: CgroupLayout | None = None,
        attention: Attention | None = None,
    ) -> None:
        """`attention`: the tick's attention stage, read for the focused group, its rows and the
        ranker's doctor line (one of its own, ranker.model off, when none is given)."""
        self.store_settings = StoreSettings.from_settings(settings)
        self.probe_settings = ProbeSettings.from_settings(settings)
        self.exporter_settings = ExporterSettings.from_settings(settings)
        helper = HelperSettings.from_settings(settings)
        self.attention = attention if attention is not None else Attention("off")
        # The layout the helper probed once at start (tests may give only a sys_root).
        self.unified = (cgroups or probe_layout(sys_root)).unified
        self.state_dir = state_dir
        self.user_mode = user_mode
        self.dry_run = dry_run
        self.problems: list[str] = []
        self.alerts = AlertEngine(AlertSettings.from_settings(settings))
        # Live from the first tick; the snapshot log's history is merged in once _start_store replays it.
        self.slo = ReplayingSloTracker(slos_from_settings(settings))
        self.memory_threshold = MemorySettings.from_section(settings.values["memory"]).psi_some_threshold
        self.probe: LatencyProbe | None = None
        self.schedstat = SchedstatReader() if self.probe_settings.schedstat else None
        self.wait_threads = 0  # threads whose schedstat the last tick read
        self.focus_app: str | None = None  # the app the focus_cpu_wait_* figures are about
        self.gpu = GpuReader() if helper.gpu else None
        self.writer: StoreWriter | None = None
        self.exporter: Exporter | None = None
        self.store_path: Path | None = None
        self.memory_plan: MemoryPlan | None = None  # the memory stage's, as last observed
        self.rows: list[GroupObservation] = []
        # The last tick's numbers and rows, for the exporter's thread: one tuple, so it reads
        # both of the same tick.
        self.latest: tuple[dict[str, float], list[GroupObservation]] | None = None
        self._disk: dict[str, float] = {}
        self._disk_at = -DISK_EVERY
        self._memory_alert: str | None = None
        self._detail_at = float("-inf")
        self._logged: Mapping[str, Decision] = {}
        self._hints = Hints()
        self._classifications: Mapping[int, Classification] = {}

    # lifecycle

    def start(self) -> None:
        if self.probe_settings.enabled:
            self._try("latency probe", self._start_probe)
        if self.store_settings.enabled:
            self._try("snapshot log", self._start_store)
        if self.exporter_settings.enabled:
            self._try("exporter", self._start_exporter)

    def _try(self, part: str, start: Callable[[], None]) -> None:
        try:
            start()
        except (SmoothDeskError, OSError, ValueError) as exc:
            self.problems.append(f"{part}: {exc}")
            log.warning("%s disabled: %s", part, exc)

    def _start_probe(self) -> None:
        binary = sampler_binary(default_cache())
        probe = LatencyProbe(self.probe_settings.interval_s, nice=0, binary=binary)
        probe.start()
        self.probe = probe

    def _start_store(self) -> None:
        cfg = self.store_settings
        path = cfg.path or self.state_dir / "snapshots.sqlite"
        if self.dry_run:
            return
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o750)
        store = SnapshotStore.open(path, hash_cmdlines=cfg.hash_cmdlines, max_age_s=cfg.max_age_s,
                                   max_bytes=cfg.max_bytes, processes_per_tick=cfg.processes_per_tick,
                                   raw_s=cfg.raw_s)  # fmt: skip
        for problem in store.problems:
            self.problems.append(f"snapshot log: {problem}")
            log.warning("snapshot log: %s", problem)
        self.store_path = path
        self.slo.start_replay(path, samples.JUDGED_ALIASES)
        self.writer = StoreWriter(store)

    def _start_exporter(self) -> None:
        from smoothdesk.telemetry.exporter_metrics import Latest

        def latest() -> Latest | None:
            last = self.latest
            return None if last is None else Latest(*last)

        s = self.exporter_settings
        self.exporter = Exporter(latest, address=s.address, port=s.port,
                                 allow_remote=s.allow_remote, top_apps=s.top_apps)  # fmt: skip
        log.info("exporter on http://%s:%d/metrics", self.exporter.address, self.exporter.port)

    def stop(self) -> None:
        self.slo.close()
        if self.probe is not None:
            self.probe.stop()
        if self.exporter is not None:
            self.exporter.close()
        if self.writer is not None:
            self.writer.close()
        if self.schedstat is not None:
            self.schedstat.close()

    def child_pids(self) -> frozenset[int]:
        """Our own helper processes (the probe's sampler): never grouped, classified or demoted."""
        pid = self.probe.pid if self.probe is not None else None
        return frozenset() if pid is None else frozenset({pid})

    # per tick

    def observe_focus(
        self, events: Sequence[FocusEvent], hints: Hints, classifications: Mapping[int, Classification]
    ) -> None:
        """The attention stage's focus events for the log; the hints and last tick's classes,
        which say whose CPU wait the figures read."""
        self._classifications = classifications
        self._hints = hints
        if self.writer is not None:
            for event in events:
                self.writer.submit_focus(event.ts, event.group_id, event.pid, event.kind)

    def figures(
        self, snapshot: Snapshot, groups: Sequence[AppGroup], decisions: Mapping[str, Decision], now: float,
        xruns: Xruns | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """What this tick adds to the Metrics sample; `xruns` None: no agent counts them."""
        window = self.probe.window() if self.probe is not None else None
        out: dict[str, Any] = samples.system_figures(snapshot)
        out.update(samples.latency_figures(window))
        focused = self.attention.focused_id
        waits = self._cpu_waits(snapshot, groups, focused)
        out.update(samples.cpu_wait_figures(waits))
        if self.focus_app is not None:
            out["focus_app"] = self.focus_app  # for "firefox waited 14 ms"; not a number, not logged
        count = xruns.count if xruns is not None else None
        out["score"] = samples.score(window, snapshot, count, waits)
        out.update(samples.xrun_figures(count, xrun_apps(xruns, groups)))
        out.update(samples.foreground_pressure(snapshot, groups, focused, self.unified))
        used = samples.group_cpu(snapshot, groups)
        out["cpu_by_class"] = samples.cpu_by_class(used, decisions, snapshot.system.ncpu)
        out["top_apps"] = samples.top_apps(used)
        if now - self._disk_at >= DISK_EVERY:
            self._disk, self._disk_at = disk_usage(), now
        out.update({f"disk_used_percent:{m}": v for m, v in self._disk.items()})
        if self.gpu is not None:
            busy = self.gpu.read(now).busy_percent
            if busy is not None:
                out["gpu_busy_percent"] = busy
        return out

    def _cpu_waits(
        self, snapshot: Snapshot, groups: Sequence[AppGroup], focused_id: str | None
    ) -> dict[str, CpuWait]:
        """This tick's schedstat figures per role; the focused app's name goes with them (focus_app)."""
        if self.schedstat is None:
            return {}
        group = next((g for g in groups if g.id == focused_id), None) if focused_id is not None else None
        roles = samples.wait_roles(snapshot, group, self._hints, self._classifications)
        before = self.schedstat.reads
        waits = self.schedstat.read(roles)
        self.wait_threads = self.schedstat.reads - before
        self.focus_app = group.name if group is not None and "focus" in waits else None
        return waits

    def after_tick(
        self, snapshot: Snapshot, groups: Sequence[AppGroup], decisions: Mapping[str, Decision],
        sample: dict[str, Any], memory_plan: MemoryPlan | None = None,
    ) -> list[AlertEvent]:  # fmt: skip
        """Log the tick, feed SLOs and alerts, raise or clear the memory stage's warning;
        returns alert transitions."""
        wall = float(sample["time"])
        numbers = samples.storable(sample)
        judge = samples.judged(numbers)
        self.slo.observe(wall, judge)
        events = self.alerts.update(wall, judge) + self.slo.update(wall)
        self.memory_plan = memory_plan
        events += self._memory_events(wall)
        detail = snapshot.monotonic - self._detail_at >= self.store_settings.detail_every
        if detail and self.attention.tick is not None:
            # Every group's row costs ~15 us; built every store.detail_every, not every tick.
            self._detail_at = snapshot.monotonic
            self.rows = self.attention.rows(snapshot, groups, self._classifications, decisions)
        self.latest = (numbers, self.rows)
        if self.writer is not None:
            chosen = self._decisions_to_log(decisions, everything=detail)
            if detail:
                owners = {pid: g.id for g in groups for pid in g.members}
                procs = list(snapshot.processes.values())
                self.writer.submit_tick(wall, numbers, procs, self.rows, chosen, owners)
            else:
                self.writer.submit_tick(wall, numbers, [], [], chosen)
        return events

    def _decisions_to_log(
        self, decisions: Mapping[str, Decision], *, everything: bool
    ) -> list[tuple[str, str, str]]:
        """The decisions the store should compare with what it last logged.

        The store keeps only changes, but formatting every group's reasons every tick cost more
        than the rest of the tick's telemetry. The daemon keeps an unchanged Decision object, so
        only new objects are sent; every detail tick sends all of them, so a tick the writer
        dropped or failed to commit delays a logged change by at most store.detail_every.
        """
        if decisions is self._logged and not everything:
            return []  # the daemon kept its dict: no decision changed
        sent = {} if everything else self._logged
        fresh = [d for gid, d in decisions.items() if sent.get(gid) is not d]
        self._logged = decisions  # the daemon replaces its dict on a change, never edits it
        return [(d.group_id, d.klass.value, d.reason_text) for d in fresh]

    def _memory_events(self, wall: float) -> list[AlertEvent]:
        """The memory guard's warning, named after the largest background user, as an alert."""
        plan = self.memory_plan
        text = plan.alert if plan is not None else None
        if text == self._memory_alert:
            return []
        was, self._memory_alert = self._memory_alert, text
        if text is None and was is None:
            return []
        return [self._memory_event(wall, text)]

    def _memory_event(self, wall: float, text: str | None) -> AlertEvent:
        psi = self.memory_plan.psi_some if self.memory_plan is not None else 0.0
        threshold = self.memory_threshold
        severity, message = ("warning", text) if text else ("resolved", "memory pressure over: released")
        metric = "psi_memory_some_avg10"
        return AlertEvent("memory:guard", severity, metric, psi, threshold, message, wall, wall)

    # reads for the bus

    def findings(self) -> list[dict[str, str]]:
        """doctor lines for the telemetry parts: what runs, and why not where it does not."""

        def line(key: str, ok: bool, summary: str, meaning: str) -> dict[str, str]:
            return {"key": key, "status": "ok" if ok else "warn", "summary": summary, "meaning": meaning}

        broken = {p.split(":", 1)[0]: p for p in self.problems}
        probe, model = self.probe, self.attention.model
        out = [
            line("latency probe", probe is not None,
                 f"sampler pid {probe.pid}, nice {probe.effective_nice}" if probe is not None
                 else broken.get("latency probe", "off (probe.enabled)"),
                 "Scheduling latency is measured, not guessed: the score and SLOs rest on it."),
            line("cpu wait", self.schedstat is not None,
                 f"schedstat of {self.wait_threads} threads last tick (focused app, audio, compositor)"
                 if self.schedstat is not None else "off (probe.schedstat)",
                 "How long the apps you use waited for a CPU, read from the kernel at no extra wake-ups."),
            line("snapshot log", self.writer is not None,
                 str(self.store_path) if self.writer is not None
                 else broken.get("snapshot log", "off (store.enabled, or a dry run)"),
                 "History for reports and for training the attention model."),
            line("ranker", model is not None and not model.state.startswith("failed"),
                 f"{model.model_path} ({model.state})" if model is not None
                 else self.attention.problem or "off (ranker.model)",
                 "The attention model has a bounded say; rules, guardrails and pins still win."),
        ]  # fmt: skip
        if self.slo.slos:
            ok, summary = self._replay_summary()
            meaning = "After a restart the error budgets are rebuilt from the log over their whole period."
            out.append(line("slo replay", ok, summary, meaning))
        if self.gpu is not None:
            st = self.gpu.status
            out.append(line("gpu", st.present, ", ".join(st.sources) if st.present else st.reason,
                            "GPU use per process, where the driver exposes it."))  # fmt: skip
        return out

    def _replay_summary(self) -> tuple[bool, str]:
        """(ok, text) for the doctor line: what the SLO replay at start did, or why it did not."""
        slo = self.slo
        done = slo.replayed
        if done is not None:
            windows = max((st.total_windows for st in slo.status(time.time())), default=0)
            since = "-" if math.isnan(done.oldest) else time.strftime("%F %T", time.localtime(done.oldest))
            return True, (
                f"replayed {done.samples} samples"
                + (f" and {done.minutes} rolled-up minutes" if done.minutes else "")
                + f" since {since} in {done.seconds:.1f} s; "
                f"budgets now count {windows} windows"
            )
        if slo.problem:
            return False, f"not replayed: {slo.problem}; budgets count from this start"
        if self.store_path is None:
            return False, "not replayed (no snapshot log); budgets count from this start"
        return True, "replaying the snapshot log (until it is merged, budgets count this run alone)"

    def active_alerts(self) -> list[dict[str, Any]]:
        now = time.time()
        active = [a.to_dict() for a in self.alerts.active()]
        if self._memory_alert is not None:
            active.append(self._memory_event(now, self._memory_alert).to_dict())
        return active + [a.to_dict() for a in self.slo.alerts(now)]

    def slo_status(self) -> list[SloStatus]:
        return self.slo.status(time.time())
