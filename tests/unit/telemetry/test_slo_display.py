"""Where an SLO budget starts, as people see it: the doctor line for the replay and the SINCE column."""

from __future__ import annotations

import asyncio
import math
import os
import time
from pathlib import Path

from smoothdesk.cli.telemetry import cmd_slo
from smoothdesk.config.schema import defaults
from smoothdesk.helper.telemetry import Telemetry
from smoothdesk.telemetry.store import SnapshotStore


def telemetry(tmp_path: Path, *, dry_run: bool) -> Telemetry:
    settings = defaults()
    settings.values["probe"]["enabled"] = False
    settings.values["store"]["path"] = str(tmp_path / "log.sqlite")
    return Telemetry(settings, user_mode=True, uid=os.getuid(), dry_run=dry_run, state_dir=tmp_path)


def replay_line(t: Telemetry) -> dict[str, str]:
    (line,) = [f for f in t.findings() if f["key"] == "slo replay"]
    return line


def test_the_doctor_says_how_much_was_replayed_and_since_when(tmp_path: Path) -> None:
    start = (time.time() // 60 - 30) * 60  # 20 minutes of an earlier run, ended 10 minutes ago
    store = SnapshotStore.open(tmp_path / "log.sqlite")
    for i in range(1200):
        store.write_tick(start + i, {"latency_p99_ms": 1.0, "psi_cpu_some": 2.0}, [], [], [])
    store.close()
    t = telemetry(tmp_path, dry_run=False)
    t.start()
    try:
        assert t.slo.wait(60)
        t.slo.update(time.time())  # the replayed tracker is merged in on a tick
        line = replay_line(t)
        assert line["status"] == "ok"
        assert (
            f"replayed 1200 samples since {time.strftime('%F %T', time.localtime(start))}" in line["summary"]
        )
        assert "budgets now count 20 windows" in line["summary"]
    finally:
        t.stop()


def test_without_a_log_the_doctor_says_budgets_count_from_this_start(tmp_path: Path) -> None:
    t = telemetry(tmp_path, dry_run=True)
    t.start()
    try:
        line = replay_line(t)
        assert line["status"] == "warn" and "no snapshot log" in line["summary"]
    finally:
        t.stop()


class OneSlo:
    """GetSlo's reply for one SLO, as the helper's bus adaptor sends it (a fake client, no bus)."""

    def __init__(self, since: float) -> None:
        status = {
            "name": "p99", "metric": "latency_p99_ms", "objective": 0.99, "window_s": 60.0,
            "budget_period_s": 604800.0, "total_windows": 10, "bad_windows": 0, "budget_remaining": 1.0,
            "burn_fast": 0.0, "burn_slow": 0.0, "last_value": 1.0, "last_good": True, "since": since,
        }  # fmt: skip
        self.reply = [[status]]

    async def call(self, method: str) -> list[list[dict[str, object]]]:
        assert method == "GetSlo"
        return self.reply


def test_the_slo_table_has_a_since_column() -> None:
    since = 1_700_000_000.0
    for value, shown in ((since, time.strftime("%Y-%m-%d %H:%M", time.localtime(since))), (math.nan, "-")):
        texts: list[str] = []
        code = asyncio.run(cmd_slo(OneSlo(value), None, lambda _data, text, out=texts: out.append(text)))  # type: ignore[arg-type]
        header, row = texts[0].splitlines()[:2]
        assert code == 0 and header.split()[-1] == "SINCE"
        assert row.endswith(shown)
