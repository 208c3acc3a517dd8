"""Audio clients: PulseAudio (or pipewire-pulse) sink inputs that play, followed by server events."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import pulsectl

from smoothdesk.agent.state import Audio
from smoothdesk.agent.watcher import SupervisedWatcher

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5.0


def playing(sink_inputs: list[pulsectl.PulseSinkInputInfo]) -> Audio:
    """The processes behind uncorked playback streams: a paused (corked) stream does not count."""
    pids: set[int] = set()
    apps: set[str] = set()
    for si in sink_inputs:
        if si.corked:
            continue
        props = si.proplist
        try:
            pid = int(props.get("application.process.id", ""))
        except ValueError:
            continue  # a stream from a sandbox or another host names no usable pid
        if pid > 0:
            pids.add(pid)
            apps.add(props.get("application.process.binary") or props.get("application.name") or str(pid))
    return Audio(frozenset(pids), tuple(sorted(apps)))


class PulseAudio(SupervisedWatcher):
    """Reports the playing clients to `on_change` from its own thread whenever streams change."""

    thread_name = "smoothdesk-audio-pulse"
    # PulseDisconnected (from event_listen when the server goes) is not a PulseError subclass.
    disconnects = (pulsectl.PulseError, pulsectl.PulseDisconnected)

    def __init__(self, on_change: Callable[[Audio], None], server: str | None = None) -> None:
        self.on_change = on_change
        self.server = server
        super().__init__(f"the sound server {server or '(default)'}")
        self._pulse: pulsectl.Pulse | None = None
        self._lock = threading.Lock()
        self._last: Audio | None = None

    def _report(self, audio: Audio) -> None:
        if audio != self._last:
            self._last = audio
            self.on_change(audio)

    def _gone(self, why: str) -> None:
        self._report(Audio(reason=f"no sound server: {why}"))

    def _interrupt(self) -> None:
        # event_listen_stop() is lost when it comes before event_listen() has started polling
        # (pulsectl says so): repeat it until the thread is out, as pulsectl advises.
        super()._interrupt()
        deadline = time.monotonic() + 5
        while self.alive and time.monotonic() < deadline:
            with self._lock:
                if self._pulse is not None:
                    self._pulse.event_listen_stop()
            if self._thread is not None:
                self._thread.join(0.05)

    def _session(self) -> None:
        with pulsectl.Pulse("smoothdesk-agent", server=self.server, connect=False) as pulse:
            pulse.connect(timeout=CONNECT_TIMEOUT)  # a stopped server must not hold the thread for good
            with self._lock:
                if self._stopping.is_set():
                    return
                self._pulse = pulse
            try:
                self._follow(pulse)
            finally:
                with self._lock:
                    self._pulse = None

    def _follow(self, pulse: pulsectl.Pulse) -> None:
        changed = threading.Event()
        pulse.event_mask_set("sink_input")

        def on_event(event: pulsectl.PulseEventInfo) -> None:
            changed.set()
            raise pulsectl.PulseLoopStop

        pulse.event_callback_set(on_event)
        while not self._stopping.is_set():
            audio = playing(pulse.sink_input_list())
            self._up()
            self._report(audio)
            changed.clear()
            pulse.event_listen()  # returns after an event or stop(); raises PulseDisconnected
            if not changed.is_set() and not self._stopping.is_set():
                return  # woken without an event: the connection is gone
