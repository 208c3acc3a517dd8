"""The scheduling-latency probe the helper runs: owns the sampler process and turns its output into windows.

The sampler is a small C process (sampler.c, found or built by sampler.py), not a Python one: a
thread in the helper would measure the GIL, and a Python sampler cost ~22 us a wake-up and 12 MB.
It is now the second opinion: the apps' own CPU wait comes from schedstat (collector/schedstat.py)
at no wake-ups at all, and the sampler says what a sleeper that is nobody's app sees.

Interval: 100 ms by default (probe.interval_ms). Each wake-up costs 25-45 us of CPU on this
2-vCPU VM whatever the language (the timer and the wake-up are the kernel's and the hypervisor's:
the C sampler saves only a third of the Python one's 35 us), so the rate is what the footprint
rests on: 0.59 % of a core at 4 ms, 0.27 % at 10 ms, 0.04 % at 100 ms (bench/bench_probe.py).
At 10 wake-ups a tick the window's p99 is its worst wake-up: the sampler is now a stall detector
and a second opinion beside the apps' own waits, which schedstat gives at no wake-ups at all.

The sampler runs at the nice value of the class it measures for (`interactive`), set from here at
start. Lowering nice needs root (CAP_SYS_NICE); otherwise it stays where the helper is and
`effective_nice` says so. Call start() from a long-lived thread: PR_SET_PDEATHSIG fires when the
thread that started the sampler exits. A sampler that dies is restarted by window(), with a backoff
that doubles from 1 s up to 60 s and resets after 60 s of healthy running.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import time
from array import array
from collections.abc import Callable
from pathlib import Path

from smoothdesk.telemetry.latency import LatencyWindow, stalled, summarize
from smoothdesk.telemetry.sampler import default_cache, sampler_binary

log = logging.getLogger(__name__)

_BACKOFF_MIN, _BACKOFF_MAX, _HEALTHY_AFTER = 1.0, 60.0, 60.0
# The sampler writes every 50 ms, or each wake-up when they are further apart, when it runs: five
# flush periods (or three intervals) of silence is starvation.
_STALL_AFTER = 0.25


class LatencyProbe:
    """`start()`, then `window()` once per tick for the wake lateness since the previous call."""

    def __init__(
        self,
        interval_s: float = 0.100,
        nice: int | None = None,
        *,
        binary: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`binary`: the sampler to run; None builds or finds it (sampler.sampler_binary) at start."""
        if not 0.0001 <= interval_s <= 1.0:
            raise ValueError(f"probe interval {interval_s} s is outside 0.1 ms..1 s")
        self.interval_ns = round(interval_s * 1e9)
        self.stall_after = max(_STALL_AFTER, 3 * interval_s)
        self.nice = nice
        self.effective_nice: int | None = None
        self.restarts = 0
        self._clock = clock
        self.binary = binary
        self._proc: subprocess.Popen[bytes] | None = None
        self._rest = b""
        self._last_read = clock()
        self._heard_at: float | None = None
        self._started_at = 0.0
        self._backoff = _BACKOFF_MIN
        self._retry_at = 0.0

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def start(self) -> None:
        if self.pid is not None:
            return
        if self.binary is None:
            self.binary = sampler_binary(default_cache())
        args = [str(self.binary), str(self.interval_ns), str(os.getpid())]
        self._proc = subprocess.Popen(
            args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        assert self._proc.stdout is not None
        os.set_blocking(self._proc.stdout.fileno(), False)
        self._rest = b""
        self._started_at = self._last_read = self._clock()
        self._heard_at = None  # a slow start under load is not a stall
        self._apply_nice(self._proc.pid)

    def _apply_nice(self, pid: int) -> None:
        # It measures what a SCHED_OTHER app gets: not the SCHED_IDLE or SCHED_BATCH the helper runs at.
        with contextlib.suppress(OSError):
            os.sched_setscheduler(pid, os.SCHED_OTHER, os.sched_param(0))
        if self.nice is not None:
            try:
                os.setpriority(os.PRIO_PROCESS, pid, self.nice)
            except PermissionError:
                log.info("latency probe cannot run at nice %d without root", self.nice)
        self.effective_nice = os.getpriority(os.PRIO_PROCESS, pid)
        if self.nice is not None and self.effective_nice != self.nice:
            log.info("latency probe runs at nice %d (asked for %d)", self.effective_nice, self.nice)

    def window(self) -> LatencyWindow | None:
        """Statistics of every wake-up reported since the last call.

        A running sampler that was heard from before and has been silent for longer than
        `stall_after` is starved: the window then reports the silence as lateness (latency.stalled).
        None when there is nothing to say: no sampler, or one that has not reported yet.
        """
        now = self._clock()
        duration, self._last_read = now - self._last_read, now
        samples = self._drain()
        if samples:
            self._heard_at = now
        self._supervise(now)
        if not samples and self._heard_at is not None and self.pid is not None:
            silence = now - self._heard_at
            if silence >= self.stall_after:
                return stalled(silence, self.interval_ns, duration)
        return summarize(samples, self.interval_ns, duration)

    def _drain(self) -> array[int]:
        data = self._rest
        proc = self._proc
        if proc is not None and proc.stdout is not None and not proc.stdout.closed:
            fd = proc.stdout.fileno()
            chunks = [data]
            while True:
                try:
                    chunk = os.read(fd, 1 << 16)
                except BlockingIOError:
                    break
                if not chunk:
                    proc.stdout.close()  # EOF: the sampler is gone; _supervise reaps and restarts it
                    break
                chunks.append(chunk)
            data = b"".join(chunks)
        samples: array[int] = array("I")
        whole = len(data) - len(data) % samples.itemsize
        samples.frombytes(data[:whole])
        self._rest = data[whole:]
        return samples

    def _supervise(self, now: float) -> None:
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None and proc.stdout is not None and not proc.stdout.closed:
            if now - self._started_at >= _HEALTHY_AFTER:
                self._backoff = _BACKOFF_MIN
            return
        if self._retry_at == 0.0:
            self._end(proc)
            self._retry_at = now + self._backoff
            log.warning("latency probe exited (%s); restarting in %.0f s", proc.returncode, self._backoff)
            self._backoff = min(self._backoff * 2, _BACKOFF_MAX)
        elif now >= self._retry_at:
            self._retry_at = 0.0
            self.restarts += 1
            self.start()

    def _end(self, proc: subprocess.Popen[bytes]) -> None:
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None and not pipe.closed:
                pipe.close()
        try:
            proc.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def stop(self) -> None:
        """Close the sampler's stdin (it exits at EOF) and reap it; idempotent."""
        if self._proc is not None:
            self._end(self._proc)
            self._proc = None
        self._retry_at = 0.0
