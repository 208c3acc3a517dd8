"""User mode for real: a helper run by nobody lowers nobody's hog, never root's, and undoes it."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests.support.procs import named_binary, sched_state, spawn_hog, stop, wait_for
from tests.support.users import NOBODY, drop_to_nobody, unprivileged_python

pytestmark = pytest.mark.root


def test_user_mode_touches_only_own_processes(bus_address: str, shared_tmp: Path) -> None:
    tmp_path = shared_tmp
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    os.chown(run_dir, NOBODY, NOBODY)
    config = tmp_path / "c.toml"
    config.write_text("[helper]\ntick = 0.2\n[rules]\nananicy_dirs = []\n")
    cc1plus = named_binary(tmp_path, "cc1plus")
    mine = spawn_hog(cc1plus, new_session=True, preexec_fn=drop_to_nobody)
    roots = spawn_hog(cc1plus, new_session=True)
    exe, env = unprivileged_python()
    log = tmp_path / "helper.log"
    helper = None
    try:
        before_mine, before_root = sched_state(mine.pid), sched_state(roots.pid)
        with log.open("wb") as err:
            helper = subprocess.Popen(
                [
                    exe,
                    "-m",
                    "smoothdesk.helper.main",
                    "--bus",
                    bus_address,
                    "--config",
                    str(config),
                    "--run-dir",
                    str(run_dir),
                ],
                preexec_fn=drop_to_nobody,
                env=env,
                cwd="/",
                stderr=err,
            )
        assert wait_for(lambda: sched_state(mine.pid) != before_mine, 10), log.read_text()
        assert wait_for(lambda: "user mode" in log.read_text(), 10)
        assert sched_state(roots.pid) == before_root
        helper.send_signal(signal.SIGTERM)
        assert helper.wait(timeout=15) == 0, log.read_text()
        assert sched_state(mine.pid) == before_mine
        assert sched_state(roots.pid) == before_root
    finally:
        if helper is not None and helper.poll() is None:
            helper.kill()
        stop(mine, roots)
