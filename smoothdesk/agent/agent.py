"""The session agent: tells the helper the focused process, the audio clients, idle time and xruns."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from smoothdesk.agent.audio_pulse import PulseAudio
from smoothdesk.agent.focus_select import FocusChoice, choose_focus, focus_watcher, session_address
from smoothdesk.agent.idle import IdleSource, open_idle_source
from smoothdesk.agent.link import HelperLink
from smoothdesk.agent.state import Audio, Focus
from smoothdesk.agent.watcher import BACKOFF_MAX, BACKOFF_MIN, SupervisedWatcher
from smoothdesk.agent.xruns_pipewire import PipeWireXruns, XrunNews
from smoothdesk.dbus.client import HelperClient, connect
from smoothdesk.dbus.errors import ACCESS_DENIED, INVALID_ARGS, NOT_FOUND, UNKNOWN_METHOD, BusError
from smoothdesk.dbus.procref import proc_identity

log = logging.getLogger(__name__)

IDLE_SLACK = 5.0  # report idle time again only when the last input moved by more than this
MAX_IDLE = 30 * 86400.0  # the helper's bound for ReportIdle
DOOMED = frozenset({ACCESS_DENIED, INVALID_ARGS, NOT_FOUND})
MAX_REASON = 500  # the helper takes up to 512 printable characters


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else " " for c in text)[:MAX_REASON] or "unknown"


class SessionAgent:
    """Runs the focus, audio and idle backends in their own threads and reports changes only.

    `state()` may be called from any thread (the tray reads it).
    """

    def __init__(
        self,
        bus: str,
        *,
        env: Mapping[str, str] | None = None,
        pulse_server: str | None = None,
        session_bus: str | None = "session",
        audio: bool = True,
        idle_interval: float = 1.0,
        xruns: bool = True,
    ) -> None:
        self.bus = bus
        self.env = dict(os.environ if env is None else env)
        self.pulse_server = pulse_server
        self.session_bus = session_bus
        self.audio_enabled = audio
        self.idle_interval = idle_interval
        self._lock = threading.Lock()
        self._focus = Focus.unknown("starting")
        self._focus_key: tuple[int, int] | None = None
        self._audio = Audio(reason="starting" if audio else "this agent does not report audio (--no-audio)")
        self._audio_keys: list[tuple[int, int]] = []
        self._idle: float | None = None
        self._idle_since: float | None = None
        self._idle_reason = "starting"
        self._sent: dict[str, Any] = {}
        self.xruns_enabled = xruns
        self._xrun_source = ""
        self._xrun_reason = "starting" if xruns else "disabled"
        self._xruns = 0  # counted, not yet reported
        self._xrun_pids: dict[int, int] = {}
        self._xruns_seen = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped = asyncio.Event()  # set in the agent's loop only
        self._link = HelperLink(bus, self._sync)
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._backends: list[SupervisedWatcher] = []
        self.focus_choice = FocusChoice("unknown", "starting")
        self.restarts = 0  # unexpected exceptions the agent's own loop survived
        self.reports = 0
        self._pidfds = hasattr(os, "pidfd_open")
        self._unknown_reports = True  # False once the helper turns out to predate ReportUnknown

    # lifecycle

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="smoothdesk-agent", daemon=True)
        self._thread.start()
        self._ready.wait(10)

    def stop(self) -> None:
        for backend in self._backends:
            backend.stop()
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._stop_soon)
        if self._thread is not None:
            self._thread.join(timeout=10)

    def state(self) -> dict[str, Any]:
        with self._lock:
            focus, audio = self._focus, self._audio
            return {
                "focus": focus.describe(),
                "focus_pid": focus.pid,
                "focus_app": focus.app,
                "focus_xwayland": focus.xwayland,
                "focus_source": self.focus_choice.source,
                "focus_via": self.focus_choice.describe(),
                "audio": sorted(audio.pids),
                "audio_apps": list(audio.apps),
                "audio_state": audio.reason or "ok",
                "idle": self._idle,
                "idle_state": self._idle_reason or "ok",
                "xruns": self._xruns_seen,
                "xrun_state": self._xrun_source or self._xrun_reason,
                "connected": self._link.connected,
                "helper": self._link.owner,
                "error": self._link.error,
                "reports": self.reports,
            }

    # backend callbacks (any thread)

    def _post(self, method: Any, value: Any) -> None:
        if self._loop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed while we were posting
                self._loop.call_soon_threadsafe(method, value)

    def _set_focus(self, focus: Focus) -> None:
        key: tuple[int, int] | None = None
        pid = focus.pid
        if pid is not None:
            found = proc_identity(pid)
            if found is None:
                focus = Focus.unknown(f"the focused window's process {pid} is gone")
            elif found[1] != os.getuid() and os.getuid() != 0:
                focus = Focus.unknown(f"the focused window belongs to uid {found[1]}, not this user")
            else:
                key = (pid, found[0])
        with self._lock:
            self._focus, self._focus_key = focus, key
        self._link.poke()

    def _set_audio(self, audio: Audio) -> None:
        keys = []
        for pid in sorted(audio.pids):
            found = proc_identity(pid)
            # The helper refuses a report naming any process that is not the caller's.
            if found is not None and (found[1] == os.getuid() or os.getuid() == 0):
                keys.append((pid, found[0]))
        with self._lock:
            self._audio, self._audio_keys = audio, keys
        self._link.poke()

    def _set_xruns(self, news: XrunNews) -> None:
        with self._lock:
            self._xrun_source, self._xrun_reason = news.source, news.reason
            self._xruns += news.count
            self._xruns_seen += news.count
            for pid, n in news.by_pid.items():
                self._xrun_pids[pid] = self._xrun_pids.get(pid, 0) + n
        self._link.poke()

    # the agent's own thread

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main())
        finally:
            loop.close()

    async def _main(self) -> None:
        address = session_address(self.session_bus, self.env)
        self.focus_choice = choice = await choose_focus(self.env, address)
        watcher = focus_watcher(choice, self.env, lambda f: self._post(self._set_focus, f), address)
        if watcher is not None:
            self._backends.append(watcher)
        else:
            self._set_focus(Focus.unknown(choice.why))
        if self.audio_enabled:
            self._backends.append(PulseAudio(lambda a: self._post(self._set_audio, a), self.pulse_server))
        if self.xruns_enabled:
            self._backends.append(PipeWireXruns(lambda n: self._post(self._set_xruns, n), self.env))
        for backend in self._backends:
            backend.start()
        idle = asyncio.ensure_future(self._guarded("idle time", self._follow_idle))
        self._ready.set()
        try:
            await self._guarded("the helper link", self._link.run)
        finally:
            idle.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await idle

    async def _guarded(self, what: str, run: Callable[[], Awaitable[None]]) -> None:
        """Runs `run` to its end; an unexpected exception is logged with its traceback and `run`
        starts again after a backoff, so no part of the agent is lost without a word."""
        delay = BACKOFF_MIN
        while not self._stopped.is_set():
            try:
                await run()
                return
            except Exception:
                self.restarts += 1
                log.exception("session agent: %s failed; starting it again in %.1f s", what, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), delay)
            delay = min(BACKOFF_MAX, delay * 2)

    def _stop_soon(self) -> None:
        self._stopped.set()
        self._link.stop()

    async def _follow_idle(self) -> None:
        """Samples idle time; a source that fails is closed and looked for again with backoff."""
        found_once, delay = False, BACKOFF_MIN
        while True:
            source = await self._open_idle()
            if isinstance(source, str):
                self._set_idle_unknown(source)
                if not found_once:
                    return  # this session has no idle source at all: nothing to wait for
                await asyncio.sleep(delay)
                delay = min(BACKOFF_MAX, delay * 2)
                continue
            if found_once:
                log.info("idle time from %s again", source.name)
            else:
                log.info("idle time from %s", source.name)
            found_once, delay, self._idle_reason = True, BACKOFF_MIN, ""
            try:
                while await self._sample_idle(source):
                    await asyncio.sleep(self.idle_interval)
            finally:
                source.close()
            log.warning("idle time: %s; looking for a source again with backoff", self._idle_reason)

    async def _open_idle(self) -> IdleSource | str:
        session = None
        if self.session_bus is not None and not self.env.get("SMOOTHDESK_NO_SESSION_IDLE"):
            with contextlib.suppress(BusError):
                session = await connect(self.session_bus)
        return await open_idle_source(session, self.env.get("DISPLAY"))

    def _set_idle_unknown(self, reason: str) -> None:
        with self._lock:
            self._idle, self._idle_since, self._idle_reason = None, None, reason
        self._link.poke()

    async def _sample_idle(self, source: IdleSource) -> bool:
        """One sample; False once the source failed (the X server or the session service went)."""
        try:
            seconds = await source.seconds()
        except Exception as exc:  # python-xlib and dbus-fast raise plain Exception subclasses
            self._set_idle_unknown(f"{source.name}: {exc}")
            return False
        since = time.monotonic() - seconds
        with self._lock:
            self._idle, self._idle_since = seconds, since
        sent = self._sent.get("idle")
        if not isinstance(sent, float) or abs(sent - since) > IDLE_SLACK:
            self._link.poke()
        return True

    async def _sync(self, client: HelperClient, fresh: bool) -> None:
        """Send what changed since the last report (everything after a helper restart)."""
        if fresh:
            self._sent.clear()
        with self._lock:
            focus = self._focus_key or (0, 0)
            audio = list(self._audio_keys)
            idle, since = self._idle, self._idle_since
            # A source that measures nothing says so: "unknown" must not read as "none" or "silence".
            unknown = {"focus": self._focus.reason, "audio": self._audio.reason}
        if unknown["focus"]:
            await self._send_unknown(client, "focus", unknown["focus"], lambda: client.report_focus(0, 0))
        elif self._sent.get("focus") != focus:
            await self._send("focus", focus, self._report_focus(client, focus))
        if unknown["audio"]:
            await self._send_unknown(client, "audio", unknown["audio"], lambda: client.report_audio([]))
        elif self._sent.get("audio") != audio:
            await self._send("audio", audio, client.report_audio(audio))
        last = self._sent.get("idle")
        if idle is None or since is None:
            if self._idle_reason:
                await self._send_unknown(client, "idle", self._idle_reason, None)
        elif not isinstance(last, float) or abs(last - since) > IDLE_SLACK:
            await self._send("idle", since, client.report_idle(min(idle, MAX_IDLE)))
        await self._sync_xruns(client)

    async def _sync_xruns(self, client: HelperClient) -> None:
        """New xruns, and the source appearing or going; nothing while there is none."""
        with self._lock:
            source, count, pids = self._xrun_source, self._xruns, dict(self._xrun_pids)
        sent = self._sent.get("xruns", "")
        # Xruns counted before the source went are still reported, under the source that counted them.
        name = source or (sent if count else "")
        if not name:
            count, pids = 0, {}
        if not count and name == sent:
            return
        clients = []
        for pid, n in sorted(pids.items()):
            found = proc_identity(pid)
            # Only the caller's own live processes can be named; the rest count in the total alone.
            if found is not None and (found[1] == os.getuid() or os.getuid() == 0):
                clients.append((pid, found[0], min(n, count)))
        await self._send("xruns", name, client.report_xruns(name, count, clients))
        with self._lock:
            self._xruns -= count if name else self._xruns
            for pid, n in pids.items():
                left = self._xrun_pids.get(pid, 0) - n
                if left > 0:
                    self._xrun_pids[pid] = left
                else:
                    self._xrun_pids.pop(pid, None)
        if name != source:
            self._link.poke()  # now say that the source is gone

    async def _send_unknown(
        self, client: HelperClient, kind: str, reason: str, old: Callable[[], Awaitable[None]] | None
    ) -> None:
        """ReportUnknown, or to a helper that predates it the report of "none" (`old`), if any."""
        value = ("unknown", reason)
        if self._sent.get(kind) == value:
            return
        if self._unknown_reports:
            try:
                await self._send(kind, value, client.call("ReportUnknown", kind, _printable(reason)))
                return
            except BusError as exc:
                if exc.name != UNKNOWN_METHOD:
                    raise
                self._unknown_reports = False
                log.info("this helper has no ReportUnknown: a source that is gone reads there as none")
        if old is not None:
            await self._send(kind, value, old())

    async def _send(self, kind: str, value: Any, call: Awaitable[object]) -> None:
        try:
            await call
        except BusError as exc:
            if exc.name not in DOOMED:
                raise  # the helper is away or busy: the link retries
            # The process exited or changed hands meanwhile: retrying the same report cannot help.
            log.info("the helper refused the %s report: %s", kind, exc)
        self.reports += 1
        self._sent[kind] = value

    async def _report_focus(self, client: HelperClient, focus: tuple[int, int]) -> None:
        pid, start = focus
        found = proc_identity(pid) if pid else None
        if found is not None and found[0] == start and self._pidfds:
            # A pidfd names exactly this process, whatever happens to the pid afterwards.
            try:
                fd = os.pidfd_open(pid)
            except OSError:
                fd = -1
            if fd >= 0:
                try:
                    await client.report_focus_fd(fd)
                    return
                except BusError as exc:
                    # Some buses pass no descriptors (or lose them): pid and start time are as safe.
                    self._pidfds = False
                    log.info("pidfd report refused (%s); using pid and start time from now on", exc)
                finally:
                    os.close(fd)
        await client.report_focus(pid, start)
