"""A process an agent reports before the helper has listed it is read at once, not at the next listing."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from smoothdesk.dbus.client import HelperClient, connect
from smoothdesk.dbus.procref import start_time
from tests.agent.agent_support import app_of, has
from tests.support.procs import stop, wait_for
from tests.support.user_helper import UserHelper

pytestmark = pytest.mark.root

# Listing /proc every 10 minutes: only the report can make the process known sooner.
RARE_LISTING = "[helper]\ntick = 0.5\nfull_scan_every = 600.0\n[rules]\nananicy_dirs = []\n"


class ContainedHelper(UserHelper):
    """A user-mode helper in a pid namespace of its own, as in a container: the proc connector
    ignores it there, and its /proc shows nothing the test does not start in it."""

    def command(self) -> list[str]:
        return ["unshare", "--pid", "--fork", "--mount-proc", *super().command()]

    def inner(self) -> int:
        """The helper's pid outside its namespace (unshare's child)."""
        assert self.proc is not None
        pid = self.proc.pid
        assert wait_for(lambda: bool(_children(pid)), 10)
        return _children(pid)[0]

    def stop(self, sig: int = signal.SIGTERM) -> None:
        # unshare passes no signal on: the helper gets it, and unshare exits when it has.
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.inner(), sig)
        super().stop(sig)

    def spawn(self, *argv: str) -> tuple[subprocess.Popen[bytes], int]:
        """`argv` in the helper's namespaces; the process and its pid there."""
        cmd = ["nsenter", "-t", str(self.inner()), "-p", "-m", "--", *argv]
        proc = subprocess.Popen(cmd, process_group=0)
        assert wait_for(lambda: bool(_children(proc.pid)), 10)
        ns_pids = Path(f"/proc/{_children(proc.pid)[0]}/status").read_text().split("NSpid:")[1].split()
        return proc, int(ns_pids[1])


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


@pytest.mark.skipif(not shutil.which("unshare") or not shutil.which("nsenter"), reason="needs util-linux")
def test_a_brand_new_audio_client_is_honoured_before_the_next_listing(
    bus_address: str, tmp_path: Path
) -> None:
    helper = ContainedHelper(bus_address, tmp_path)
    helper.config.write_text(RARE_LISTING)
    helper.start()
    try:
        assert wait_for(lambda: "running in user mode" in helper.log.read_text(), 20), helper.log.read_text()
        assert "no proc connector" in helper.log.read_text()
        time.sleep(1.0)  # past the first ticks' sweeps, which found nothing: now quiet for 10 minutes
        player, pid = helper.spawn("sleep", "600")
        try:
            host_pid = _children(player.pid)[0]
            start = start_time(host_pid)
            assert start is not None

            async def report_and_wait() -> bool:
                client = HelperClient(await connect(bus_address))
                try:
                    await client.report_audio([(pid, start)])
                    # The report lasts as long as its connection: wait while it is open.
                    return await asyncio.to_thread(wait_for, lambda: has(bus_address, pid, "plays audio"), 10)
                finally:
                    client.bus.disconnect()
                    await client.bus.wait_for_disconnect()  # type: ignore[no-untyped-call]

            assert asyncio.run(report_and_wait()), (app_of(bus_address, pid), helper.log.read_text())
        finally:
            stop(player)
    finally:
        helper.stop()
