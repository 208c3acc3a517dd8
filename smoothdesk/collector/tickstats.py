"""What one ProcessTable tick cost, by stage and by count."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class TickStats:
    """Cost of the last tick.

    Times are wall seconds (perf_counter) of each stage; on a machine that is
    not overloaded they are close to CPU time. `cpu_s` is the process CPU time
    (time.process_time) of the whole tick. Stages: system (global figures),
    listdir (/proc listing), stat (cheap stat reads of the hot set and sweeps),
    full (whole-process reads), io (/proc/PID/io of hot processes), other
    (bookkeeping, window decay, snapshot assembly). `events_s` and
    `event_full_reads` are add_pid calls made since the previous tick; they are
    not part of total_s.
    """

    total_s: float = 0.0
    cpu_s: float = 0.0
    system_s: float = 0.0
    listdir_s: float = 0.0
    stat_s: float = 0.0
    full_s: float = 0.0
    io_s: float = 0.0
    other_s: float = 0.0
    events_s: float = 0.0
    known: int = 0
    hot: int = 0
    cheap_reads: int = 0
    """Stat reads of known processes: hot set, rolling slice and sweep together."""
    rolling_reads: int = 0
    recent_reads: int = 0
    """Stat reads of recently busy processes, made when CPU went unaccounted."""
    full_reads: int = 0
    event_full_reads: int = 0
    io_reads: int = 0
    listed: bool = False
    """Whether /proc was listed this tick (every full_every seconds, or in a sweep)."""
    sweep: str = ""
    """Why this tick read every known process: "first", "requested", "unaccounted", or ""."""
    suppressed: bool = False
    """An "unaccounted" sweep was due but skipped: the last one found too little to be worth it."""
    woken: int = 0
    """Known processes that were idle at their previous read and used CPU since."""
    woken_pct: float = 0.0
    """Their CPU use since their previous read, summed (percent of one core)."""
    discovered: int = 0
    """New processes found by listing /proc that had already used CPU."""
    unaccounted_pct: float = 0.0
    """CPU (percent of one core) tasks used that this tick's reads did not account for."""
    found_pct: float = 0.0
    """woken_pct of the processes a sweep woke: what the sweep found busy."""

    def stages(self) -> dict[str, float]:
        """Exclusive wall seconds per stage; they add up to total_s."""
        return {
            "system": self.system_s,
            "listdir": self.listdir_s,
            "stat": self.stat_s,
            "full": self.full_s,
            "io": self.io_s,
            "other": self.other_s,
        }
