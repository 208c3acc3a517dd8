"""SLO error budgets survive a restart of the real helper: rebuilt from its snapshot log, judged anew."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.support.procs import wait_for
from tests.support.users import REPO

# One-second windows over a one-hour period, so that a few seconds of running judge a few windows.
# cpu_busy_percent is judged under that name but logged as the cpu_busy column.
CONFIG = """\
[helper]
tick = 0.2
[rules]
ananicy_dirs = []
[store]
detail_every = 60.0
[[slo]]
name = "cpu"
metric = "cpu_busy_percent"
op = "<"
threshold = {threshold}
objective = 0.99
window = "1s"
budget_period = "1h"
"""
NEVER, ALWAYS = -1.0, 1000.0  # no CPU is busy below 0 %; every one is below 1000 %


def ctl(address: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "smoothdesk.cli.main", "--bus", address, *args],
        capture_output=True, text=True, timeout=60, check=False, cwd=REPO,
    )  # fmt: skip


def slo(address: str) -> dict[str, Any]:
    done = ctl(address, "--json", "slo")
    slos = json.loads(done.stdout) if done.stdout else []
    return dict(slos[0]) if slos else {}


@contextmanager
def helper(address: str, tmp_path: Path, run: str, threshold: float) -> Iterator[subprocess.Popen[bytes]]:
    """A user-mode helper on the private bus; the snapshot log is in the test's state dir."""
    config = tmp_path / f"{run}.toml"
    config.write_text(CONFIG.format(threshold=threshold))
    log = tmp_path / f"{run}.log"
    with log.open("wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "smoothdesk.helper.main", "--bus", address, "--user",
             "--config", str(config), "--run-dir", str(tmp_path / "run")],
            stderr=stderr,
        )  # fmt: skip
    try:
        assert wait_for(lambda: ctl(address, "status").returncode == 0, 30), log.read_text()
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, log.read_text()


def test_the_budget_is_carried_over_a_restart_and_rejudged_after_a_config_change(
    bus_address: str, tmp_path: Path, private_state_dir: Path
) -> None:
    def carried_over(first: dict[str, Any]) -> bool:
        return bool(slo(bus_address).get("since") == first["since"])

    with helper(bus_address, tmp_path, "first", NEVER):
        assert wait_for(lambda: slo(bus_address).get("bad_windows", 0) >= 4, 60), slo(bus_address)
        first = slo(bus_address)
    assert first["bad_windows"] == first["total_windows"]  # every window of this SLO is bad
    assert (private_state_dir / "snapshots.sqlite").exists()

    with helper(bus_address, tmp_path, "second", NEVER):
        # The oldest window counted is the first run's, and so are its bad windows.
        assert wait_for(lambda: carried_over(first), 30), (first, slo(bus_address))
        second = slo(bus_address)
        assert second["bad_windows"] >= first["bad_windows"]
        assert second["budget_remaining"] <= 1 - first["bad_windows"] / 36 + 1e-9  # 1 % of 3600 windows
        assert "BUDGET-LEFT" in ctl(bus_address, "slo").stdout

    with helper(bus_address, tmp_path, "third", ALWAYS):
        # The same logged figures, judged by the edited threshold: every old window is good now.
        assert wait_for(lambda: carried_over(first), 30), (first, slo(bus_address))
        third = slo(bus_address)
        assert third["total_windows"] >= second["total_windows"]
        assert (third["bad_windows"], third["budget_remaining"]) == (0, 1.0)
