"""Audio xruns from PipeWire: a long-running profiler child (pw_profiler) read line by line.

Where the session has no PipeWire (plain PulseAudio, or no sound server) there is no xrun source:
the agent logs that once and reports nothing, so the helper never mistakes "no source" for "0".
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

RETRY_MIN, RETRY_MAX = 2.0, 60.0
SOURCE = "pipewire"


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


class PipeWireXruns:
    """Runs the profiler child while PipeWire is there; `on_change` gets XrunNews from its thread."""

    def __init__(self, on_change: Callable[[XrunNews], None], env: Mapping[str, str] | None = None) -> None:
        self.on_change = on_change
        self.env = dict(os.environ if env is None else env)
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._child: subprocess.Popen[str] | None = None
        self._thread: threading.Thread | None = None
        self._said = ""  # the last "no source" reason logged, so each is logged once

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="smoothdesk-xruns", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            if self._child is not None and self._child.poll() is None:
                self._child.terminate()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _no_source(self, reason: str) -> None:
        if reason != self._said:
            log.info("audio xruns are not reported: %s", reason)
            self._said = reason
            self.on_change(XrunNews("", reason=reason))

    def _run(self) -> None:
        delay = RETRY_MIN
        while not self._stopping.is_set():
            if pipewire_socket(self.env) is None:
                self._no_source("this session runs no PipeWire (PulseAudio alone has no xrun counts)")
            elif self._follow():
                delay = RETRY_MIN
            # PipeWire is absent or went away: look again later (a stat, no subprocess, until it is back).
            self._stopping.wait(delay)
            delay = min(RETRY_MAX, delay * 2)

    def _follow(self) -> bool:
        """Runs one child to its end; True if it got as far as counting."""
        argv = [sys.executable, "-m", "smoothdesk.gui.agent.pw_profiler"]
        with self._lock:
            if self._stopping.is_set():
                return False
            child = self._child = subprocess.Popen(
                argv, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
            )
        counted = False
        assert child.stdout is not None
        with child.stdout:
            counted = self._read(child.stdout, child.pid)
        child.wait()
        if counted and not self._stopping.is_set():
            self._no_source(f"the PipeWire profiler ended (exit {child.returncode})")
        return counted

    def _read(self, lines: Iterable[str], pid: int) -> bool:
        reader, counted = LineReader(), False
        for line in lines:
            news = reader.feed(line)
            if news is None:
                continue
            if not news.source:
                self._no_source(news.reason)
                continue
            counted = True
            if self._said != SOURCE:
                log.info("audio xruns from PipeWire's profiler (pid %d)", pid)
                self._said = SOURCE
            self.on_change(news)
        return counted
