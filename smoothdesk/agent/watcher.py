"""The supervised loop every session-agent watcher runs: reconnect with backoff, say once when a source goes.

A watcher subclasses `SupervisedWatcher` and writes `_session` (connect, call `_up()` once the
source is measuring, serve until it goes) and `_gone` (tell the agent what is no longer measured).
The loop does the rest, the same way for X11, sway, PulseAudio, PipeWire and any later source:

- the errors in `disconnects` (what the source's library really raises when its server goes) and
  a `_session` that returns end one connection: `_gone(why)`, then a reconnect after a backoff;
- any other exception is a bug: it is logged with its traceback, reported through `_gone` like a
  disconnect and the session is started again, so the thread never dies of it;
- one warning per outage (when the source goes) and one line when it is back, not one per retry.
"""

from __future__ import annotations

import logging
import os
import select
import threading
import time

log = logging.getLogger(__name__)

# A failed connect to a local socket costs microseconds: trying every 5 s at most finds a server
# that is back within seconds of its return, at no cost worth counting while it stays away.
BACKOFF_MIN, BACKOFF_MAX = 0.5, 5.0


class SourceGone(Exception):
    """Raised by a `_session` whose source is absent or went away; the message says why."""


class SupervisedWatcher:
    """Runs `_session` on a daemon thread, again and again, until `stop()`.

    `stop()` sets `_stopping` and makes `_wake_r` readable: a `_session` that selects on it next to
    its own source returns at once. A source that blocks elsewhere also overrides `_interrupt`.
    """

    thread_name = "smoothdesk-watcher"
    disconnects: tuple[type[BaseException], ...] = (OSError,)  # SourceGone always counts too
    backoff_min, backoff_max = BACKOFF_MIN, BACKOFF_MAX

    def __init__(self, source: str = "") -> None:
        self.source = source or self.thread_name  # what the log calls it, e.g. "PulseAudio at unix:/..."
        self._thread: threading.Thread | None = None
        self._wake_r, self._wake_w = os.pipe()
        self._stopping = threading.Event()
        self._delay = self.backoff_min
        self._down_since: float | None = None  # set while an outage lasts
        self._was_up = False
        self.outages = 0  # sources lost (and never-reached starts), for the tests and the log
        self.restarts = 0  # unexpected exceptions survived

    # lifecycle (any thread)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._supervise, name=self.thread_name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._interrupt()
        if self._thread is not None:
            self._thread.join(timeout=5)
            if self._thread.is_alive():
                log.warning("%s: the watcher thread did not stop within 5 s", self.source)
                return  # it may still select on the pipe: leave it open rather than reuse the fd
        os.close(self._wake_r)
        os.close(self._wake_w)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _interrupt(self) -> None:
        os.write(self._wake_w, b"x")

    # for `_session` (the watcher's thread)

    def _session(self) -> None:
        raise NotImplementedError

    def _gone(self, why: str) -> None:
        """Tell the agent that the source measures nothing now, and why."""
        raise NotImplementedError

    def _up(self) -> None:
        """The source is measuring: the next outage starts from the shortest backoff again."""
        self._delay = self.backoff_min
        self._was_up = True
        if self._down_since is not None:
            log.info("%s is back after %.1f s", self.source, time.monotonic() - self._down_since)
            self._down_since = None

    def wait(self, seconds: float | None) -> bool:
        """Sleep up to `seconds` (None: until stop); True once stop() was called."""
        if not self._stopping.is_set():
            select.select([self._wake_r], [], [], seconds)
        return self._stopping.is_set()

    # the loop

    def _supervise(self) -> None:
        while not self._stopping.is_set():
            try:
                why = self._attempt()
                if why is None:
                    return
                self._lost(why)
            except Exception:  # a bug in _gone or the log: never the end of the thread
                self.restarts += 1
                log.exception("%s: the watcher failed while reporting an outage", self.source)
            if self.wait(self._delay):
                return
            self._delay = min(self.backoff_max, self._delay * 2)

    def _attempt(self) -> str | None:
        """One connection, start to end: why it ended, or None when stopping."""
        caught: tuple[type[BaseException], ...] = (SourceGone, *self.disconnects)
        try:
            self._session()
            why = "the connection closed"
        except caught as exc:
            why = str(exc) or type(exc).__name__
        except Exception as exc:
            if self._stopping.is_set():
                return None
            self.restarts += 1
            log.exception("%s: unexpected error in the watcher; starting it again", self.source)
            why = f"the watcher failed ({type(exc).__name__}: {exc}); starting it again"
        return None if self._stopping.is_set() else why

    def _lost(self, why: str) -> None:
        if self._down_since is None:
            self._down_since = time.monotonic()
            self.outages += 1
            if self._was_up:
                log.warning("%s is gone: %s; reconnecting with backoff", self.source, why)
            else:
                log.info("%s is not available: %s; looking again with backoff", self.source, why)
        else:
            log.debug("%s still gone: %s (next try in %.1f s)", self.source, why, self._delay)
        self._gone(why)
