"""A watcher thread that blocks in select() and can be stopped at once from another thread."""

from __future__ import annotations

import os
import threading


class WakeableThread:
    """Runs `_run` on a daemon thread; `stop()` sets `_stopping` and makes `_wake_r` readable, so
    a `_run` that selects on it alongside its own source returns without waiting for an event."""

    thread_name = "smoothdesk-watcher"

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self._wake_r, self._wake_w = os.pipe()
        self._stopping = threading.Event()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        os.write(self._wake_w, b"x")
        if self._thread is not None:
            self._thread.join(timeout=5)
        os.close(self._wake_r)
        os.close(self._wake_w)

    def _run(self) -> None:
        raise NotImplementedError
