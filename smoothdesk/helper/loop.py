"""The asyncio main loop: ticks on absolute deadlines, signals, bus service, fast path."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Callable

from smoothdesk.collector.errors import CollectorError
from smoothdesk.collector.netlink import ProcConnector
from smoothdesk.helper.bus import BusEndpoint
from smoothdesk.helper.daemon import Daemon
from smoothdesk.helper.fastpath import FastPath
from smoothdesk.helper.sdnotify import notify
from smoothdesk.helper.wiring import Helper

log = logging.getLogger("smoothdesk.helper")


def _open_netlink(helper: Helper) -> ProcConnector | None:
    # Recent kernels let unprivileged users listen too; where one refuses, we fall back.
    if not helper.config.netlink:
        return None
    connector = ProcConnector()
    try:
        connector.open()
    except CollectorError as exc:
        log.warning("no proc connector, falling back to periodic rescans: %s", exc)
        return None
    return connector


async def run(helper: Helper, stop_requested: Callable[[], bool] = lambda: False) -> int:
    """`stop_requested`: whether a SIGTERM or SIGINT came before this loop took them over."""
    daemon = helper.daemon
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, daemon.stop)
    loop.add_signal_handler(signal.SIGINT, daemon.stop)
    loop.add_signal_handler(signal.SIGHUP, daemon.reload)
    if stop_requested():
        daemon.stop()
    recovered = helper.actuator.recover()
    if recovered.restored:
        log.info("restored %d changes left by a previous run", recovered.restored)
    endpoint: BusEndpoint | None = None
    netlink: ProcConnector | None = None
    try:
        if daemon.stopping:  # stopped during start-up: the restore below is all that is left
            log.info("stop requested during start-up")
            return 0
        # Subscribed before the first tick lists /proc: a process born in between is seen by one
        # or the other (its fork and exec events wait in the socket until the reader runs).
        netlink = _open_netlink(helper)
        daemon.set_netlink(netlink is not None)
        # The first tick before the bus and the telemetry: it demotes the load the helper was
        # started beside, and the rest of the start runs at the CPU share that gives it back.
        daemon.tick()
        if netlink is not None:
            loop.add_reader(netlink.fileno(), FastPath(daemon, netlink).on_readable)
        endpoint = BusEndpoint(daemon, helper.controller)
        await endpoint.start(helper.options.bus)
        helper.telemetry.start()
        notify("READY=1")
        parts = helper.parts
        log.info(
            "running in %s mode, tick %.2fs, bus %s%s",
            "user" if parts.user_mode else "root",
            parts.tick_seconds,
            helper.options.bus,
            ", dry run" if parts.dry_run else "",
        )
        await _tick_forever(daemon, parts.tick_seconds)
    finally:
        notify("STOPPING=1")
        # A second Ctrl-C or SIGTERM must not cut the restore short; and once asyncio closes its
        # self-pipe, a signal still routed to it prints a BrokenPipeError. So from here they are
        # ignored (SIGKILL still works, and the journal restores on the next start).
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.remove_signal_handler(sig)
            signal.signal(sig, signal.SIG_IGN)
        if netlink is not None:
            loop.remove_reader(netlink.fileno())
            netlink.close()
        helper.telemetry.stop()
        report = helper.actuator.restore_all()
        log.info(
            "stopped: %d changes restored, %d processes already gone, %d refused by the kernel",
            report.restored,
            report.esrch,
            report.eperm + report.irreversible,
        )
        if endpoint is not None:
            await endpoint.stop()
    # 1 when the bus was lost for good: systemd's Restart= then.
    return endpoint.exit_status if endpoint is not None else 0


async def _tick_forever(daemon: Daemon, tick_seconds: float) -> None:
    deadline = time.monotonic()
    while not daemon.stopping:
        deadline += tick_seconds
        now = time.monotonic()
        if deadline < now:
            # Fell behind (suspend, overload): skip the missed ticks rather than burst.
            deadline = now + tick_seconds
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(daemon.wait_wake(), deadline - now)
        if daemon.stopping:
            break
        try:
            daemon.tick()
        except Exception:
            log.exception("tick failed; continuing")
