"""Audio clients: PulseAudio (or pipewire-pulse) sink inputs that play, followed by server events."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import pulsectl

from smoothdesk.gui.agent.state import Audio

log = logging.getLogger(__name__)

RETRY_MIN, RETRY_MAX = 1.0, 30.0


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


class PulseAudio:
    """Reports the playing clients to `on_change` from its own thread whenever streams change."""

    def __init__(self, on_change: Callable[[Audio], None], server: str | None = None) -> None:
        self.on_change = on_change
        self.server = server
        self._stopping = threading.Event()
        self._pulse: pulsectl.Pulse | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="smoothdesk-audio-pulse", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            if self._pulse is not None:
                self._pulse.event_listen_stop()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        delay = RETRY_MIN
        last: Audio | None = None
        while not self._stopping.is_set():
            try:
                with pulsectl.Pulse("smoothdesk-agent", server=self.server) as pulse:
                    with self._lock:
                        self._pulse = pulse
                    delay = RETRY_MIN
                    last = self._follow(pulse, last)
            except pulsectl.PulseError as exc:
                audio = Audio(reason=f"no sound server: {exc}")
                if audio != last:
                    self.on_change(audio)
                    last = audio
            finally:
                with self._lock:
                    self._pulse = None
            # The server went away (or never came): try again, a little later each time.
            self._stopping.wait(delay)
            delay = min(RETRY_MAX, delay * 2)

    def _follow(self, pulse: pulsectl.Pulse, last: Audio | None) -> Audio | None:
        changed = threading.Event()
        pulse.event_mask_set("sink_input")

        def on_event(event: pulsectl.PulseEventInfo) -> None:
            changed.set()
            raise pulsectl.PulseLoopStop

        pulse.event_callback_set(on_event)
        while not self._stopping.is_set():
            audio = playing(pulse.sink_input_list())
            if audio != last:
                self.on_change(audio)
                last = audio
            changed.clear()
            pulse.event_listen()  # returns after an event, or when stop() interrupts it
            if not changed.is_set() and not self._stopping.is_set():
                break  # woken without an event: the connection is gone
        return last
