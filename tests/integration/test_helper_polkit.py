"""The root helper on a system-like bus with the real polkitd: everyone reads, only root changes."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.polkit import polkit_system_bus
from tests.support.procs import wait_for
from tests.support.users import REPO, drop_to_nobody, unprivileged_python

pytestmark = pytest.mark.root


def ctl(address: str, *args: str, nobody: bool = False) -> subprocess.CompletedProcess[str]:
    exe, env = unprivileged_python() if nobody else (sys.executable, None)
    return subprocess.run(
        [exe, "-m", "smoothdesk.cli.main", "--bus", address, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd="/" if nobody else REPO,
        env=env,
        preexec_fn=drop_to_nobody if nobody else None,
    )


def test_nobody_reads_but_is_denied_changes_root_may(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[helper]\ntick = 0.2\n[rules]\nananicy_dirs = []\n")
    with polkit_system_bus() as address:
        helper = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "smoothdesk.helper.main",
                "--bus",
                address,
                "--config",
                str(config),
                "--run-dir",
                str(tmp_path / "run"),
            ],
            stderr=subprocess.DEVNULL,
        )
        try:
            assert wait_for(lambda: ctl(address, "status").returncode == 0, 15)
            assert ctl(address, "apps", nobody=True).returncode == 0
            for args in (("pause",), ("set-class", "1", "idle"), ("reload",)):
                denied = ctl(address, *args, nobody=True)
                assert denied.returncode == 1, (args, denied.stdout, denied.stderr)
                assert "not authorized" in denied.stderr or "administrator" in denied.stderr, denied.stderr
                assert "Traceback" not in denied.stderr
            assert '"paused": false' in ctl(address, "--json", "status").stdout
            assert ctl(address, "pause").returncode == 0
            assert '"paused": true' in ctl(address, "--json", "status").stdout
        finally:
            helper.send_signal(signal.SIGTERM)
            assert helper.wait(timeout=15) == 0
