"""The helper's SLO tracker: live from the first tick, with the snapshot log's history merged in.

Why in the background: a 7-day replay takes seconds, longer than a tick. The helper's tracker
(ReplayingSloTracker) judges live ticks from the first one, and keeps the SLO figures of the
ticks seen meanwhile; when the replay thread ends, the next tick re-observes those figures into
the replayed tracker and swaps it in, so a window that straddles the restart is judged once,
on the samples of both runs. Until then status() shows this run alone.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from smoothdesk.telemetry.alerts import AlertEvent
from smoothdesk.telemetry.schema import StoreError
from smoothdesk.telemetry.slo import Slo, SloStatus, SloTracker
from smoothdesk.telemetry.slo_replay import Replayed, replay

log = logging.getLogger(__name__)

MAX_PENDING = 50_000  # live ticks kept while the replay runs; past that it is given up


class ReplayingSloTracker:
    """The helper's SLO tracker: live from the first tick, the log's history merged in once replayed.

    observe/update/status/alerts are SloTracker's and run on the tick loop; only the replay
    itself runs on its own thread, into a tracker nobody else sees until the swap.
    """

    def __init__(self, slos: Sequence[Slo], max_pending: int = MAX_PENDING) -> None:
        self.slos = list(slos)
        self.live = SloTracker(self.slos)
        self.replayed: Replayed | None = None
        self.problem = ""
        self._max_pending = max_pending
        self._metrics = {s.metric for s in self.slos}
        self._pending: list[tuple[float, dict[str, float]]] = []
        self._until = math.inf
        self._thread: threading.Thread | None = None
        self._result: Replayed | StoreError | None = None
        self._stop = threading.Event()

    def start_replay(self, path: Path, aliases: Mapping[str, str], until: float | None = None) -> None:
        """Replay samples older than `until` (now) on a thread; call before the first observe()."""
        self._until = time.time() if until is None else until

        def run() -> None:
            try:
                self._result = replay(path, self.slos, until=self._until, aliases=aliases, stop=self._stop)
            except StoreError as exc:
                self._result = exc
            except Exception as exc:  # a bug here must not take the helper's SLOs down with it
                log.exception("SLO replay failed")
                self._result = StoreError(f"{path}: SLO replay failed: {exc}")

        self._thread = threading.Thread(target=run, name="smoothdesk-slo-replay", daemon=True)
        self._thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        """True once the replay thread has ended (or none was started)."""
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    def close(self) -> None:
        self._stop.set()

    def observe(self, ts: float, sample: Mapping[str, float]) -> None:
        self._merge()
        self.live.observe(ts, sample)
        if self._thread is None:
            return
        self._pending.append((ts, {m: sample[m] for m in self._metrics if m in sample}))
        if len(self._pending) > self._max_pending:
            self._give_up(f"replay still running after {len(self._pending)} ticks; given up")

    def update(self, now: float) -> list[AlertEvent]:
        self._merge()
        return self.live.update(now)

    def status(self, now: float) -> list[SloStatus]:
        return self.live.status(now)

    def alerts(self, now: float) -> list[AlertEvent]:
        return self.live.alerts(now)

    def _give_up(self, problem: str) -> None:
        self._stop.set()
        self._thread, self._pending = None, []
        self.problem = problem
        log.warning("SLO budgets not replayed from the snapshot log: %s; they count from this start", problem)

    def _merge(self) -> None:
        thread = self._thread
        if thread is None or thread.is_alive():
            return
        result = self._result
        if not isinstance(result, Replayed):
            self._give_up(str(result))
            return
        tracker = result.tracker
        for ts, figures in self._pending:
            if ts >= self._until:  # earlier ones (the clock went back) may be in the log's part
                tracker.observe(ts, figures)
        tracker.inherit_alerts(self.live)
        self.live, self.replayed = tracker, result
        self._thread, self._pending = None, []
        when = "-" if math.isnan(result.oldest) else time.strftime("%F %T", time.localtime(result.oldest))
        log.info(
            "SLO budgets replayed from the snapshot log: %d samples since %s in %.2f s",
            result.samples, when, result.seconds,
        )  # fmt: skip
