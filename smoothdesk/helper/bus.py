"""Puts the controller on a bus (or on none), keeps it there, and forwards its signals, throttled.

Back-pressure: while the connection holds more than SIGNAL_BACKLOG bytes unwritten (the bus
daemon is behind, or a slow reader has it stop reading us), Metrics samples are dropped and
AppsChanged ids wait, coalesced, for the next interval. Bounds: at most MAX_PENDING_APPS ids wait
(past that one empty AppsChanged, "refresh everything", replaces them).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import TYPE_CHECKING, Any

from dbus_fast import RequestNameReply
from dbus_fast.aio import MessageBus

from smoothdesk.dbus import connection
from smoothdesk.dbus.api import Authorizer
from smoothdesk.dbus.authorize import SameUserAuthorizer
from smoothdesk.dbus.client import connect
from smoothdesk.dbus.errors import BusError
from smoothdesk.dbus.names import BUS_NAME
from smoothdesk.dbus.polkit import PolkitAuthorizer
from smoothdesk.dbus.ratelimit import Quotas
from smoothdesk.dbus.reserved import Reserved
from smoothdesk.dbus.service import HelperService
from smoothdesk.helper.buslink import BusLink

if TYPE_CHECKING:
    from smoothdesk.helper.controller import Controller
    from smoothdesk.helper.daemon import Daemon

log = logging.getLogger(__name__)

SIGNAL_INTERVAL = 0.5
SIGNAL_BACKLOG = 256 << 10
MAX_PENDING_APPS = 4096


class BusEndpoint:
    def __init__(self, daemon: Daemon, controller: Controller) -> None:
        self.daemon = daemon
        self.controller = controller
        self.bus: MessageBus | None = None
        self.service: HelperService | None = None
        self.link: BusLink | None = None
        self.exit_status = 0
        self.dropped_metrics = 0
        # One set of quotas for the helper's life: reconnecting must not reset a flooder's debt.
        self.quotas = Quotas(reserved=Reserved())
        self._spec = "none"
        self._pending: set[str] = set()
        self._flush: asyncio.TimerHandle | None = None
        self._last_metrics = float("-inf")

    async def start(self, spec: str) -> None:
        if spec == "none":
            return
        self._spec = spec
        listeners = self.daemon.listeners
        listeners.apps_changed.append(self._apps_changed)
        listeners.status_changed.append(self._status_changed)
        listeners.metrics.append(self._metrics)
        listeners.alert.append(self._alert)
        self.link = BusLink(self._open, self._lost, self._give_up)
        await self.link.start()
        log.info("serving %s on the %s bus", BUS_NAME, spec)

    def _lost(self) -> None:
        # Every unique name of the old connection is gone with it: agents report again when
        # they see the name come back; until then their focus and audio stop counting.
        service, self.service, self.bus = self.service, None, None
        if service is not None:
            service.forget_reporters()

    def _give_up(self, why: str) -> None:
        log.error("exiting so that the service manager restarts the helper (%s)", why)
        self.exit_status = 1
        self.daemon.stop()

    async def _open(self) -> MessageBus:
        spec = self._spec
        bus = await connect(spec, unix_fds=True)
        # A root helper asks polkit for every change (root callers pass without asking, and
        # with no polkit nobody else passes); a user-mode helper lets only its owner change things.
        authorizer: Authorizer
        if self.daemon.status().user_mode:
            authorizer = SameUserAuthorizer(os.geteuid())
        else:
            polkit = PolkitAuthorizer(bus)
            polkit.start()
            authorizer = polkit
        # Serving before the name is ours: a call that arrives the moment the name is taken
        # must not get dbus-fast's own "could not be found".
        service = HelperService(bus, self.controller, authorizer, self.quotas)
        service.start()
        try:
            reply = await asyncio.wait_for(bus.request_name(BUS_NAME), 5)
        except BaseException:
            bus.disconnect()
            raise
        if reply not in (RequestNameReply.PRIMARY_OWNER, RequestNameReply.ALREADY_OWNER):
            bus.disconnect()
            raise BusError(f"{BUS_NAME} is already owned on the {spec} bus: is a helper running?")
        self.service, self.bus = service, bus
        return bus

    def _behind(self) -> bool:
        return self.bus is not None and connection.backlog(self.bus) > SIGNAL_BACKLOG

    def _emit(self, signal: str, *args: Any) -> None:
        # A signal is never worth a failed tick: the tick's callbacks run before it actuates.
        if self.service is None:
            return
        try:
            self.service.emit(signal, *args)
        except Exception as exc:
            log.debug("%s not sent: %s", signal, exc)

    def _apps_changed(self, changed: list[str]) -> None:
        # Coalesce bursts (a compile spawns hundreds of processes) into one signal per interval.
        self._pending.update(changed)
        if len(self._pending) > MAX_PENDING_APPS:
            self._pending = {""}  # too many to list: "" alone asks readers to refresh everything
        if self._flush is None:
            self._flush = asyncio.get_running_loop().call_later(SIGNAL_INTERVAL, self._send_apps)

    def _send_apps(self) -> None:
        self._flush = None
        if self.service is None or not self._pending:
            self._pending.clear()
            return
        if self._behind():  # keep them, coalesced, for the next interval
            self._flush = asyncio.get_running_loop().call_later(SIGNAL_INTERVAL, self._send_apps)
            return
        self._emit("AppsChanged", sorted(x for x in self._pending if x))
        self._pending.clear()

    def _metrics(self, sample: dict[str, Any]) -> None:
        # At most one Metrics signal per SIGNAL_INTERVAL, however fast the helper ticks; none
        # while the connection is behind (the next sample supersedes this one anyway).
        now = time.monotonic()
        if self.service is None or now - self._last_metrics < SIGNAL_INTERVAL:
            return
        self._last_metrics = now
        if self._behind():
            self.dropped_metrics += 1
            return
        self._emit("Metrics", sample)

    def _alert(self, alert: dict[str, Any]) -> None:
        # Alerts carry their own hysteresis, so each transition is sent, none coalesced.
        self._emit("Alert", alert)

    def _status_changed(self) -> None:
        if self.service is not None:
            self._emit("StatusChanged", self.service.api.status())

    async def stop(self) -> None:
        if self._flush is not None:
            self._flush.cancel()
        if self.link is not None:
            await self.link.stop()
        self.bus = self.service = None
