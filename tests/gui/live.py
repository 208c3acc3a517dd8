"""A user-mode helper that really changes processes, and a HelperConnection made as another uid."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pytestqt.qtbot import QtBot

from smoothdesk.gui.connection import HelperConnection
from tests.gui.conftest import UserHelper
from tests.support.users import NOBODY

ANANICY = Path(__file__).resolve().parents[1] / "data" / "ananicy"
# Noisy-neighbour demotion and cgroup/autogroup levers off: the helper runs as root in user mode,
# so it manages every root process on the machine; only the test's own pins and rules should act.
LIVE_CONFIG = (
    "[helper]\ntick = 0.5\n[rules]\nananicy_dirs = []\n"
    '[engine]\nnoisy_cpu_percent = 10000.0\n[actuator]\ncgroup = "off"\nautogroup = false\n'
)
TIMEOUT = 20_000


class LiveHelper(UserHelper):
    """A dry run only if asked; ImportAnanicy may read tests/data/ananicy."""

    def __init__(self, bus: str, tmp: Path, *, dry_run: bool = False) -> None:
        super().__init__(bus, tmp, dry_run=dry_run)
        self.config.write_text(LIVE_CONFIG)
        self.rules_file = tmp / "rules.toml"

    def command(self) -> list[str]:
        return [*super().command(), "--ananicy-root", str(ANANICY)]


@contextmanager
def live_helper(bus: str, tmp: Path, *, dry_run: bool = False) -> Iterator[LiveHelper]:
    helper_dir = tmp / "helper"
    helper_dir.mkdir()
    helper = LiveHelper(bus, helper_dir, dry_run=dry_run)
    try:
        helper.start()
        yield helper
    finally:
        helper.stop()


def connect(qtbot: QtBot, bus: str) -> HelperConnection:
    conn = HelperConnection(bus)
    with qtbot.waitSignal(conn.connected, timeout=TIMEOUT):
        conn.start()
    return conn


def connect_as_nobody(qtbot: QtBot, bus: str) -> HelperConnection:
    """A connection whose bus credentials are nobody's: the bus records the uid at connect time,
    so the process drops its real and effective uid only until the connection is up."""
    conn = HelperConnection(bus)
    os.setresuid(NOBODY, NOBODY, 0)
    try:
        with qtbot.waitSignal(conn.connected, timeout=TIMEOUT):
            conn.start()
    finally:
        os.setresuid(0, 0, 0)
    return conn
