"""Puts the controller on a bus (or on none) and forwards its signals, throttled."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import TYPE_CHECKING, Any

from dbus_fast import RequestNameReply
from dbus_fast.aio import MessageBus

from smoothdesk.dbus.api import Authorizer
from smoothdesk.dbus.authorize import SameUserAuthorizer
from smoothdesk.dbus.client import connect
from smoothdesk.dbus.errors import BusError
from smoothdesk.dbus.names import BUS_NAME
from smoothdesk.dbus.polkit import PolkitAuthorizer
from smoothdesk.dbus.service import HelperService
from smoothdesk.helper.controller import Controller

if TYPE_CHECKING:
    from smoothdesk.helper.daemon import Daemon

log = logging.getLogger(__name__)

SIGNAL_INTERVAL = 0.5


class BusEndpoint:
    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self.bus: MessageBus | None = None
        self.service: HelperService | None = None
        self._pending: set[str] = set()
        self._flush: asyncio.TimerHandle | None = None
        self._last_metrics = float("-inf")

    async def start(self, spec: str) -> None:
        if spec == "none":
            return
        bus = await connect(spec, unix_fds=True)
        reply = await bus.request_name(BUS_NAME)
        if reply not in (RequestNameReply.PRIMARY_OWNER, RequestNameReply.ALREADY_OWNER):
            bus.disconnect()
            raise BusError(f"{BUS_NAME} is already owned on the {spec} bus: is a helper running?")
        # A root helper asks polkit for every change (root callers pass without asking, and
        # with no polkit nobody else passes); a user-mode helper lets only its owner change things.
        authorizer: Authorizer
        if self.daemon.user_mode:
            authorizer = SameUserAuthorizer(os.geteuid())
        else:
            polkit = PolkitAuthorizer(bus)
            polkit.start()
            authorizer = polkit
        self.service = HelperService(bus, Controller(self.daemon), authorizer)
        self.service.start()
        self.bus = bus
        self.daemon.on_apps_changed.append(self._apps_changed)
        self.daemon.on_status_changed.append(self._status_changed)
        self.daemon.on_metrics.append(self._metrics)
        self.daemon.on_alert.append(self._alert)
        log.info("serving %s on the %s bus", BUS_NAME, spec)

    def _apps_changed(self, changed: list[str]) -> None:
        # Coalesce bursts (a compile spawns hundreds of processes) into one signal per interval.
        self._pending.update(changed)
        if self._flush is None:
            self._flush = asyncio.get_running_loop().call_later(SIGNAL_INTERVAL, self._send_apps)

    def _send_apps(self) -> None:
        self._flush = None
        if self.service is not None and self._pending:
            self.service.emit("AppsChanged", sorted(self._pending))
        self._pending.clear()

    def _metrics(self, sample: dict[str, Any]) -> None:
        # At most one Metrics signal per SIGNAL_INTERVAL, however fast the helper ticks.
        now = time.monotonic()
        if self.service is None or now - self._last_metrics < SIGNAL_INTERVAL:
            return
        self._last_metrics = now
        self.service.emit("Metrics", sample)

    def _alert(self, alert: dict[str, Any]) -> None:
        # Alerts carry their own hysteresis, so each transition is sent, none coalesced.
        if self.service is not None:
            self.service.emit("Alert", alert)

    def _status_changed(self) -> None:
        if self.service is not None:
            self.service.emit("StatusChanged", self.service.api.status())

    async def stop(self) -> None:
        if self._flush is not None:
            self._flush.cancel()
        if self.bus is not None:
            self.bus.disconnect()
            self.bus = None
