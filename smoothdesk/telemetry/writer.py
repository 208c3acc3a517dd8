"""A background thread that owns a SnapshotStore, so the helper's tick never waits on the disk."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from smoothdesk.core.observation import GroupObservation
from smoothdesk.core.process import ProcessRecord
from smoothdesk.telemetry.store import SnapshotStore

log = logging.getLogger(__name__)

RETENTION_EVERY = 600.0
_STOP = ("stop", ())
# Log the first few failures in full, then one in this many: a full disk fails every tick.
_LOG_FIRST = 5
_LOG_EVERY = 1000


class StoreWriter:
    """Queue ticks and focus events for the store's own thread; drop (and count) when full.

    Retention runs on the same thread at start and every `retention_every` seconds.
    """

    def __init__(
        self, store: SnapshotStore, max_queue: int = 600, retention_every: float = RETENTION_EVERY
    ) -> None:
        self.store = store
        self.dropped = 0
        self.errors = 0
        self.written = 0
        self.last_error = ""
        self.retention_every = retention_every
        self._queue: queue.Queue[tuple[str, tuple[Any, ...]]] = queue.Queue(max_queue)
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="smoothdesk-store", daemon=True)
        self._thread.start()

    def submit_tick(  # noqa: PLR0917 - same arguments as SnapshotStore.write_tick
        self,
        ts: float,
        sample: Mapping[str, float | int],
        processes: Sequence[ProcessRecord],
        observations: Sequence[GroupObservation],
        decisions: Sequence[tuple[str, str, str]],
        pid_groups: Mapping[int, str] | None = None,
    ) -> None:
        """Never blocks. The caller must not mutate what it passes afterwards."""
        self._put(("tick", (ts, sample, processes, observations, decisions, pid_groups)))

    def submit_focus(self, ts: float, group_id: str, pid: int, kind: str) -> None:
        self._put(("focus", (ts, group_id, pid, kind)))

    def _put(self, item: tuple[str, tuple[Any, ...]]) -> None:
        if self._closed:
            self.dropped += 1
            return
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self.dropped += 1

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def _run(self) -> None:
        next_retention = time.monotonic()
        while True:
            if time.monotonic() >= next_retention:
                self._guard("retention", self.store.enforce_retention)
                next_retention = time.monotonic() + self.retention_every
            try:
                kind, args = self._queue.get(timeout=max(0.01, next_retention - time.monotonic()))
            except queue.Empty:
                continue
            if kind == "stop":
                return
            if kind == "tick":
                if self._guard(kind, self.store.write_tick, *args):
                    self.written += 1
            else:
                self._guard(kind, self.store.write_focus, *args)

    def _guard(self, what: str, call: Any, *args: Any) -> bool:
        """Run one store call; a failure is logged and counted, and the thread goes on."""
        try:
            call(*args)
        except Exception as exc:
            self.errors += 1
            self.last_error = f"{what}: {exc}"
            if self.errors <= _LOG_FIRST or self.errors % _LOG_EVERY == 0:
                log.exception("snapshot log %s failed (%d failures so far)", what, self.errors)
            return False
        return True

    def close(self, timeout: float = 5.0) -> None:
        """Write everything queued, then close the store; later submissions are dropped."""
        if self._closed:
            return
        self._closed = True
        deadline = time.monotonic() + timeout
        try:
            self._queue.put(_STOP, timeout=timeout)
        except queue.Full:
            log.warning("snapshot log writer: queue still full after %.1f s", timeout)
        self._thread.join(max(0.0, deadline - time.monotonic()))
        if self._thread.is_alive():
            # Closing the connection under a running write would fail that write; leave it.
            log.warning(
                "snapshot log writer did not finish within %.1f s; %d items left", timeout, self.pending
            )
            return
        self.store.close()
