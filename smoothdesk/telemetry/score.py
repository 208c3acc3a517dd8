"""The responsiveness score: one 0-100 figure for the tray colour, from CPU waits, PSI and audio xruns.

Units: latency in milliseconds: the probe window's p99 wake lateness, and the worst single CPU wait
of the person's apps (the focused app, audio clients, compositor; from schedstat, see
collector/schedstat.py); PSI in percent, as the kernel
gives it in /proc/pressure/* (avg10: share of the last 10 s in which some / all tasks stalled);
xruns as a count in the window. A missing input (None: no probe window, no PSI, no audio agent) is
not penalised; the score then only speaks for what was measured.

Formula. Each input x becomes a badness b = clamp((x - good) / (bad - good), 0, 1), a straight ramp
from the value at which nobody notices (good) to the value at which the desktop is plainly stuck
(bad). The score is

    score = 100 * prod_i (1 - w_i * b_i)

with these (good, bad, w):

    latency ms               1  ->  20   w 0.6   (20 ms: more than a 60 Hz frame late)
    PSI cpu some avg10 %     5  ->  60   w 0.4
    PSI memory full avg10 %  0  ->  20   w 0.7   (every task stalled on memory: thrashing)
    PSI io full avg10 %      0  ->  40   w 0.4
    audio xruns              0  ->   4   w 0.5   (each one is audible)

The latency input is the worse of the two measures of the same thing: the sampler's p99 and the
apps' worst wait (the larger badness, once: they are one input, so a storm that makes both wait
is not counted twice, and an idle focused app does not hide a stalled sampler, nor the reverse).

So an idle desktop scores 100, each input alone can take at most w*100 points away, and together
they compound, never below 100 * prod(1 - w) = 1.8. Worse inputs never raise the score.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from smoothdesk.telemetry.latency import LatencyWindow


@dataclass(frozen=True, slots=True)
class Ramp:
    good: float
    bad: float
    weight: float

    def badness(self, value: float | None) -> float:
        if value is None or math.isnan(value):  # not measured
            return 0.0
        return min(1.0, max(0.0, (value - self.good) / (self.bad - self.good)))


LATENCY_P99_MS = Ramp(1.0, 20.0, 0.6)
PSI_CPU_SOME = Ramp(5.0, 60.0, 0.4)
PSI_MEMORY_FULL = Ramp(0.0, 20.0, 0.7)
PSI_IO_FULL = Ramp(0.0, 40.0, 0.4)
XRUNS = Ramp(0.0, 4.0, 0.5)


def responsiveness_score(
    window: LatencyWindow | None,
    psi_cpu_some: float | None,
    psi_memory_full: float | None,
    psi_io_full: float | None,
    xruns: int | None,
    *,
    app_wait_ms: float | None = None,
) -> float:
    """0 (stuck) to 100 (smooth); see the module docstring for units and formula."""
    latency = max(
        LATENCY_P99_MS.badness(None if window is None else window.p99_ms), LATENCY_P99_MS.badness(app_wait_ms)
    )
    score = 100.0 * (1.0 - LATENCY_P99_MS.weight * latency)
    parts = (
        (PSI_CPU_SOME, psi_cpu_some),
        (PSI_MEMORY_FULL, psi_memory_full),
        (PSI_IO_FULL, psi_io_full),
        (XRUNS, None if xruns is None else float(xruns)),
    )
    for ramp, value in parts:
        score *= 1.0 - ramp.weight * ramp.badness(value)
    return score
