"""A real user-mode helper on a private bus: Metrics signals are throttled, passed fds closed."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from dbus_fast import Message, MessageType

from smoothdesk.dbus.client import HelperClient, connect
from smoothdesk.dbus.errors import BusError
from smoothdesk.dbus.names import INTERFACE
from tests.support.users import REPO


def start_helper(address: str, tmp_path: Path) -> subprocess.Popen[bytes]:
    config = tmp_path / "c.toml"
    config.write_text("[rules]\nananicy_dirs = []\n")
    return subprocess.Popen(
        [sys.executable, "-m", "smoothdesk.helper.main", "--bus", address, "--user", "--dry-run",
         "--tick", "0.05", "--config", str(config), "--run-dir", str(tmp_path / "run")],
        cwd=REPO, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def open_fds(pid: int) -> int:
    """Pidfds the helper holds (what ReportFocusFd passes). Not every fd: a focus report makes the
    next tick open the focused app's schedstat files, which the old count mistook for a leak."""
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            count += os.readlink(f"/proc/{pid}/fd/{fd}") == "anon_inode:[pidfd]"
    return count


def test_metrics_throttled_and_fds_closed(bus_address: str, tmp_path: Path) -> None:
    helper = start_helper(bus_address, tmp_path)

    async def scenario() -> tuple[list[float], list[dict[str, object]], int, int]:
        bus = await connect(bus_address, unix_fds=True)
        client = HelperClient(bus)
        deadline = time.monotonic() + 15
        while True:
            try:
                await client.status()
                break
            except BusError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)
        seen: list[float] = []
        samples: list[dict[str, object]] = []

        def on_signal(msg: Message) -> None:
            if (
                msg.message_type == MessageType.SIGNAL
                and msg.interface == INTERFACE
                and msg.member == "Metrics"
            ):
                seen.append(time.monotonic())
                samples.append({k: v.value for k, v in msg.body[0].items()})

        bus.add_message_handler(on_signal)
        await bus.call(
            Message(destination="org.freedesktop.DBus", path="/org/freedesktop/DBus",
                    interface="org.freedesktop.DBus", member="AddMatch", signature="s",
                    body=[f"type='signal',interface='{INTERFACE}',member='Metrics'"])
        )  # fmt: skip
        await asyncio.sleep(2.0)
        before = open_fds(helper.pid)
        child = subprocess.Popen(["sleep", "60"])
        fd = os.pidfd_open(child.pid)
        for _ in range(30):
            await client.report_focus_fd(fd)
        os.close(fd)
        child.kill()
        child.wait()
        await asyncio.sleep(0.2)  # the last reply can reach us before the helper closed its fd
        after = open_fds(helper.pid)
        bus.disconnect()
        return seen, samples, before, after

    try:
        seen, samples, before, after = asyncio.run(scenario())
    finally:
        helper.send_signal(signal.SIGTERM)
        assert helper.wait(timeout=15) == 0
    # 20 ticks a second, at most 2 signals a second: about 4 in 2 s, never 40.
    assert 2 <= len(seen) <= 5, seen
    assert all(b - a >= 0.45 for a, b in itertools.pairwise(seen)), seen
    assert {"cpu_busy", "psi_io_some", "demoted", "tick_cost_ms"} <= set(samples[-1])
    assert after <= before, (before, after)
