"""A real user-mode helper for the tests of the tray app and the session agent, and private user dirs."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.procs import wait_for

HELPER_CONFIG = "[helper]\ntick = 0.5\n[rules]\nananicy_dirs = []\n"


class UserHelper:
    """`smoothdesk-helper --user` on a private bus, started and stopped by a test."""

    def __init__(self, bus: str, tmp: Path, *, dry_run: bool = True, extra_config: str = "") -> None:
        self.bus = bus
        self.dir = tmp
        self.dry_run = dry_run
        self.config = tmp / "helper.toml"
        self.config.write_text(HELPER_CONFIG + extra_config)
        self.log = tmp / "helper.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def command(self) -> list[str]:
        return [sys.executable, "-m", "smoothdesk.helper.main", "--bus", self.bus, "--user", *self.options()]

    def options(self) -> list[str]:
        """Everything after --bus and --user: private config, run dir and rules file; dry run."""
        opts = ["--config", str(self.config), "--run-dir", str(self.dir / "run")]
        opts += ["--rules-write-path", str(self.dir / "rules.toml")]
        return [*opts, "--dry-run"] if self.dry_run else opts

    def start(self, wait: bool = True) -> None:
        self.starts += 1
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(self.command(), stderr=log)
        if wait:
            assert wait_for(self.serving, 20), self.log.read_text()

    def serving(self) -> bool:
        text = self.log.read_text() if self.log.exists() else ""
        return text.count("serving org.smoothdesk.Helper1") >= self.starts

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None


@pytest.fixture(autouse=True)
def user_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Config, autostart and runtime files of the app go under tmp_path, never the real home."""
    home = tmp_path / "home"
    (home / "config").mkdir(parents=True)
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    return home


@pytest.fixture
def user_helper(bus_address: str, tmp_path: Path) -> Iterator[UserHelper]:
    """A real user-mode helper (dry run: it decides but changes no process) serving on `bus_address`."""
    helper_dir = tmp_path / "helper"
    helper_dir.mkdir()
    helper = UserHelper(bus_address, helper_dir)
    try:
        helper.start()
        yield helper
    finally:
        helper.stop()
