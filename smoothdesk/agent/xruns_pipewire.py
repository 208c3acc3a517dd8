"""Audio xruns from PipeWire: a long-running profiler child (pw_profiler) read line by line.

Where the session has no PipeWire (plain PulseAudio, or no sound server) there is no xrun source:
the agent logs that once and reports nothing, so the helper never mistakes "no source" for "0".
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smoothdesk.agent.watcher import SourceGone, SupervisedWatcher

log = logging.getLogger(__name__)

SOURCE = "pipewire"
ABSENT_RETRY = 2.0


@dataclass(frozen=True, slots=True)
class XrunNews:
    """What changed: `source` "" when there is none (with `reason`); new xruns, per pid where known."""

    source: str
    count: int = 0
    by_pid: dict[int, int] = field(default_factory=dict)
    reason: str = ""


def pipewire_socket(env: Mapping[str, str]) -> Path | None:
    """The session's PipeWire socket, or None when the session runs none (PulseAudio alone)."""
    remote = env.get("PIPEWIRE_REMOTE", "pipewire-0")
    path = (
        Path(remote) if remote.startswith("/") else Path(env.get("XDG_RUNTIME_DIR", "/nonexistent")) / remote
    )
    return path if path.is_socket() else None


class LineReader:
    """Turns the profiler child's JSON lines into XrunNews: new xruns since the previous line."""

    def __init__(self) -> None:
        self.seen: dict[int, int] = {}  # node id -> xruns counted so far

    def feed(self, line: str) -> XrunNews | None:
        """None for a line that changes nothing the helper needs (counts that did not move)."""
        try:
            msg = json.loads(line)
        except ValueError:
            return XrunNews("", reason=f"unreadable line from the profiler: {line[:80]!r}")
        if not isinstance(msg, dict):
            return XrunNews("", reason=f"unexpected line from the profiler: {line[:80]!r}")
        if "source" in msg:
            self.seen.clear()
            return XrunNews(str(msg["source"]))
        if "error" in msg:
            return XrunNews("", reason=str(msg["error"]) or "the profiler stopped")
        return self._nodes(msg.get("nodes") or [])

    def _nodes(self, rows: list[Any]) -> XrunNews | None:
        count, by_pid, now = 0, dict[int, int](), dict[int, int]()
        for node, _name, pid, xruns in rows:
            new = max(0, int(xruns) - self.seen.get(int(node), 0))
            now[int(node)] = int(xruns)
            if new:
                count += new
                if pid:
                    by_pid[int(pid)] = by_pid.get(int(pid), 0) + new
        self.seen = now
        return XrunNews(SOURCE, count, by_pid) if count else None


class PipeWireXruns(SupervisedWatcher):
    """Runs the profiler child while PipeWire is there; `on_change` gets XrunNews from its thread."""

    thread_name = "smoothdesk-xruns"
    backoff_min, backoff_max = 1.0, 60.0  # a child that fails costs a Python start: not every second

    def __init__(self, on_change: Callable[[XrunNews], None], env: Mapping[str, str] | None = None) -> None:
        self.on_change = on_change
        self.env = dict(os.environ if env is None else env)
        super().__init__("PipeWire's xrun profiler")
        self._lock = threading.Lock()
        self._child: subprocess.Popen[str] | None = None
        self._said = ""  # the last state reported ("pipewire", or why there is no source)

    def _interrupt(self) -> None:
        super()._interrupt()
        with self._lock:
            if self._child is not None and self._child.poll() is None:
                self._child.terminate()

    def _gone(self, why: str) -> None:
        if why != self._said:
            self._said = why
            self.on_change(XrunNews("", reason=why))

    def _session(self) -> None:
        path = pipewire_socket(self.env)
        if path is None:
            self._delay = min(self._delay, ABSENT_RETRY)
            raise SourceGone("this session runs no PipeWire (PulseAudio alone has no xrun counts)")
        # A crashed PipeWire leaves its socket behind: only a connect tells. That costs nothing,
        # so look often, and start the child (a Python process) only once something listens.
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            try:
                probe.connect(str(path))
            except OSError as exc:
                self._delay = min(self._delay, ABSENT_RETRY)
                raise SourceGone(f"PipeWire does not answer at {path}: {exc.strerror or exc}") from None
        argv = [sys.executable, "-m", "smoothdesk.agent.pw_profiler"]
        with self._lock:
            if self._stopping.is_set():
                return
            child = self._child = subprocess.Popen(
                argv, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
            )
        try:
            assert child.stdout is not None
            with child.stdout:
                why = self._read(child.stdout, child.pid)
        finally:
            child.wait()
        raise SourceGone(why or f"the PipeWire profiler ended (exit {child.returncode})")

    def _read(self, lines: Iterable[str], pid: int) -> str:
        """Follows the child to its end; the last error it gave ("" if none)."""
        reader, why = LineReader(), ""
        for line in lines:
            news = reader.feed(line)
            if news is None:
                continue
            if not news.source:
                why = news.reason
                continue
            if self._said != SOURCE:
                log.info("audio xruns from PipeWire's profiler (pid %d)", pid)
                self._said = SOURCE
                self._up()
            self.on_change(news)
        return why
