"""The apps' CPU wait in a real helper: absent without a focus source, then in history, log, SLO, exporter."""

from __future__ import annotations

import asyncio
import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from smoothdesk.dbus.client import HelperClient, connect
from smoothdesk.dbus.procref import start_time
from tests.integration.test_helper_telemetry import ctl, ctl_json, free_port
from tests.support.procs import named_binary, spawn_hog, stop, wait_for

WAIT_KEYS = ("focus_cpu_wait_ms", "focus_cpu_wait_max_ms", "focus_cpu_wait_pct")
WAKER = (
    "import time\n"
    "while True:\n"
    "    time.sleep(0.004)\n"
    "    e = time.thread_time() + 0.001\n"
    "    while time.thread_time() < e: pass\n"
)


@pytest.fixture
def crowded_app(tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A waker sharing one CPU with a spinning sibling: it is certain to wait for that CPU."""
    cpu = max(os.sched_getaffinity(0))
    waker = subprocess.Popen([sys.executable, "-c", WAKER], process_group=0)
    hog = spawn_hog(named_binary(tmp_path, "crowd-hog"))
    for pid in (waker.pid, hog.pid):
        os.sched_setaffinity(pid, {cpu})
    yield waker
    stop(hog, waker)


def history(address: str) -> list[dict[str, Any]]:
    return list(ctl_json(address, "history", "--since", "60s"))


def slo(address: str, name: str) -> dict[str, Any]:
    return next(s for s in ctl_json(address, "slo") if s["name"] == name)


async def report_focus(address: str, pid: int) -> HelperClient:
    client = HelperClient(await connect(address))
    start = start_time(pid)
    assert start is not None
    await client.report_focus(pid, start)
    return client


async def hang_up(client: HelperClient) -> None:
    client.bus.disconnect()
    await client.bus.wait_for_disconnect()


def test_focused_apps_wait_is_absent_without_focus_then_reaches_log_slo_and_exporter(
    bus_address: str, tmp_path: Path, private_state_dir: Path, crowded_app: subprocess.Popen[bytes]
) -> None:
    port = free_port()
    config = tmp_path / "c.toml"
    # A 1 s SLO window, so that it is judged within the test; budget period: ten windows.
    config.write_text(
        "[helper]\ntick = 0.25\n[rules]\nananicy_dirs = []\n"
        f"[store]\ndetail_every = 0.0\n[exporter]\nenabled = true\nport = {port}\n"
        '[[slo]]\nname = "focus-wait-fast"\nmetric = "focus_cpu_wait_max_ms"\nop = "<"\n'
        'threshold = 1000000.0\nobjective = 0.9\nwindow = "1s"\nbudget_period = "10s"\n'
    )
    log = tmp_path / "helper.log"
    with log.open("wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "smoothdesk.helper.main", "--bus", bus_address, "--user",
             "--config", str(config), "--run-dir", str(tmp_path / "run")],
            stderr=stderr,
        )  # fmt: skip
    loop = asyncio.new_event_loop()
    agent: HelperClient | None = None
    try:
        assert wait_for(lambda: ctl(bus_address, "status").returncode == 0, 20), log.read_text()
        # No session agent: the figures are absent (not 0) while the others flow.
        assert wait_for(lambda: len(history(bus_address)) >= 6, 20)
        before = history(bus_address)
        assert all("score" in s for s in before)
        assert not any(k in s for s in before for k in WAIT_KEYS), before[-1]
        assert wait_for(lambda: slo(bus_address, "focus-wait-fast")["total_windows"] == 0, 1)

        agent = loop.run_until_complete(report_focus(bus_address, crowded_app.pid))
        assert wait_for(lambda: "focus_cpu_wait_ms" in history(bus_address)[-1], 20), log.read_text()
        last = history(bus_address)[-1]
        assert last["focus_cpu_wait_ms"] > 0.0 and last["focus_cpu_wait_max_ms"] > 0.0
        assert 0.0 < last["focus_cpu_wait_pct"] <= 100.0
        assert last["focus_app"], last

        # The SLO judges it: a window with figures counts (the budget rests on measured time only).
        assert wait_for(lambda: slo(bus_address, "focus-wait-fast")["total_windows"] >= 1, 20)
        judged = slo(bus_address, "focus-wait-fast")
        assert math.isfinite(judged["last_value"]) and judged["last_value"] > 0.0, judged

        # Prometheus: one series per measured role, no series for a role nobody reports.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
            body = r.read().decode()
        assert 'smoothdesk_cpu_wait_ms_per_second{role="focus"}' in body
        assert 'role="audio"' not in body
    finally:
        if agent is not None:
            loop.run_until_complete(hang_up(agent))
        loop.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0, log.read_text()

    # The snapshot log has the figure in the ticks after the report, and none before it.
    db = sqlite3.connect(private_state_dir / "snapshots.sqlite")
    try:
        extras = [json.loads(e) for (e,) in db.execute("SELECT extra FROM samples ORDER BY ts") if e]
    finally:
        db.close()
    flags = ["focus_cpu_wait_ms" in e for e in extras]
    assert True in flags and not flags[0], flags
    first = flags.index(True)
    waits = [e["focus_cpu_wait_ms"] for e in extras[first:] if "focus_cpu_wait_ms" in e]
    assert max(waits) > 0.0
