"""bench_realload's stand-in for the session agent: a private bus, and the measured app reported
as the focused window's process over it, as the tray app does on a real desktop.

The helper serves org.smoothdesk.Helper1 on a private dbus-daemon (tests/support/bus); a reporter
connection calls ReportFocus(pid, start time) and stays on the bus for the cell, since the helper
keeps a report only while its sender is connected.
"""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import Future
from typing import Any

from smoothdesk.dbus.client import HelperClient, connect
from smoothdesk.dbus.errors import BusError
from smoothdesk.dbus.procref import start_time


class FocusReporter:
    """Reports `pid` as focused to the helper on `address`, on its own loop thread, until close()."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.client: HelperClient | None = None

    def _run(self, coro: Any, timeout: float) -> Any:
        fut: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return fut.result(timeout)

    async def _report(self, pid: int, deadline: float) -> None:
        if self.client is None:
            self.client = HelperClient(await connect(self.address))
        start = start_time(pid)
        if start is None:
            raise RuntimeError(f"the measured app (pid {pid}) is gone: nothing to report as focused")
        while True:  # until the helper owns its name on the bus
            try:
                await self.client.report_focus(pid, start)
                return
            except BusError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.05)

    def report(self, pid: int, timeout: float = 60.0) -> None:
        """ReportFocus(pid); retried until the helper answers (it may still be starting)."""
        self._run(self._report(pid, time.monotonic() + timeout), timeout + 5)

    def close(self) -> None:
        if self.client is not None:
            self.client.bus.disconnect()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        self.loop.close()
