"""The whole helper as a real process: demotes a hog, obeys smoothdeskctl, restores on stop and crash."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.helperproc import CONFIG, Helper, ctl, demoted
from tests.support.procs import named_binary, sched_state, spawn_hog, spawn_sleeper, stop, wait_for

pytestmark = pytest.mark.root


def test_demotes_obeys_and_restores(helper: Helper, tmp_path: Path) -> None:
    cc1plus = named_binary(tmp_path, "cc1plus")
    shell = named_binary(tmp_path, "smoothtestsh")
    hog = spawn_hog(cc1plus)
    idle_shell = spawn_sleeper(shell)
    try:
        before = sched_state(hog.pid)
        helper.start()
        assert wait_for(lambda: demoted(hog.pid), 5), helper.log.read_text()
        apps = {a["name"]: a for a in ctl(helper.bus, "apps")}
        assert apps["cc1plus"]["class"] == "background"
        assert any("cc1plus" in r for r in apps["cc1plus"]["reasons"]), apps["cc1plus"]
        assert not demoted(idle_shell.pid)

        def demoted_in_history() -> int:
            return int(ctl(helper.bus, "history", "--since", "5s")[-1]["demoted"])

        assert wait_for(lambda: demoted_in_history() >= 1, 5)
        ctl(helper.bus, "set-class", str(hog.pid), "normal")
        assert wait_for(lambda: sched_state(hog.pid) == before, 5)
        ctl(helper.bus, "clear", str(hog.pid))
        assert wait_for(lambda: demoted(hog.pid), 5)

        ctl(helper.bus, "pause")
        assert sched_state(hog.pid) == before  # pause undoes every change at once
        assert ctl(helper.bus, "status")["paused"] is True
        assert wait_for(lambda: demoted_in_history() == 0, 5)  # paused: nothing is managed
        ctl(helper.bus, "resume")
        assert wait_for(lambda: demoted(hog.pid), 5)

        assert helper.signal(signal.SIGTERM) == 0
        assert sched_state(hog.pid) == before
        assert not (helper.run_dir / "journal.json").exists()
    finally:
        stop(hog, idle_shell)


def test_restores_after_sigkill_and_restart(helper: Helper, tmp_path: Path) -> None:
    make = named_binary(tmp_path, "make")
    hog = spawn_hog(make, new_session=True)
    try:
        before = sched_state(hog.pid)
        helper.start()
        assert wait_for(lambda: demoted(hog.pid), 5), helper.log.read_text()
        helper.signal(signal.SIGKILL)
        assert demoted(hog.pid)  # a crash leaves the change behind...
        helper.start()  # ...and the next start restores it from the journal first
        assert wait_for(lambda: "left by a previous run" in helper.log.read_text(), 5)
        assert helper.signal(signal.SIGTERM) == 0
        assert sched_state(hog.pid) == before
    finally:
        stop(hog)


def test_bad_arguments_are_one_line_errors(helper: Helper) -> None:
    helper.start()
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "smoothdesk.cli.main",
            "--bus",
            helper.bus,
            "set-class",
            "no-such-app",
            "idle",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 1
    assert r.stderr.strip().count("\n") == 0
    assert "no app 'no-such-app'" in r.stderr
    assert "Traceback" not in r.stderr


def test_unclassified_hog_is_demoted_as_noisy_neighbour(helper: Helper, tmp_path: Path) -> None:
    crunch = named_binary(tmp_path, "crunchnumbers")
    # One app with three busy processes (like a multi-process job) fills both cores.
    script = "while :; do :; done & while :; do :; done & while :; do :; done & wait"
    job = subprocess.Popen([str(crunch), "-c", script], start_new_session=True)
    try:
        assert wait_for(lambda: len(children(job.pid)) == 3, 5)
        helper.start()
        assert wait_for(lambda: all(demoted(p) for p in children(job.pid)), 15), helper.log.read_text()
        (app,) = [a for a in ctl(helper.bus, "apps") if job.pid in a["pids"]]
        # The load is demoted, not the app: the idle job shell that started it keeps its class.
        assert app["class"] == "normal"
        assert app["summary"] == "normal · 3 busy processes background", app
        assert not demoted(job.pid)
        assert any(r.startswith("noisy:") for r in app["reasons"]), app["reasons"]
    finally:
        os.killpg(job.pid, signal.SIGKILL)
        job.wait()


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(x) for x in path.read_text().split()] if path.exists() else []


def test_sighup_reloads_rules_and_survives_a_broken_config(helper: Helper, tmp_path: Path) -> None:
    rules = tmp_path / "rules.d"
    rules.mkdir()
    helper.config.write_text(
        CONFIG.replace("ananicy_dirs = []", f"ananicy_dirs = []\nextra_dirs = ['{rules}']")
    )
    tool = named_binary(tmp_path, "mytool")
    hog = spawn_hog(tool)
    try:
        helper.start()
        assert wait_for(lambda: ctl(helper.bus, "apps", str(hog.pid))[0]["class"] == "normal", 5)
        (rules / "50-mine.toml").write_text('[[rule]]\nname = "mytool"\nclass = "idle"\n')
        assert helper.proc is not None
        helper.proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: sched_state(hog.pid)["policy"] == 5, 5), helper.log.read_text()  # SCHED_IDLE
        (app,) = ctl(helper.bus, "apps", str(hog.pid))
        assert app["class"] == "idle" and "50-mine.toml:1" in " ".join(app["reasons"])

        good = helper.config.read_text()
        helper.config.write_text("[helper]\ntick = 'soon'\n")
        helper.proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: "config not reloaded" in helper.log.read_text(), 5)
        assert helper.proc.poll() is None
        assert ctl(helper.bus, "apps", str(hog.pid))[0]["class"] == "idle"
        helper.config.write_text(good)
    finally:
        stop(hog)


def test_a_new_hog_is_demoted_by_the_exec_event_long_before_the_next_tick(
    helper: Helper, tmp_path: Path
) -> None:
    # A 60 s tick: a demotion within 15 s can only come from the proc connector's fast path.
    helper.config.write_text(CONFIG.replace("tick = 0.2", "tick = 60"))
    cc1plus = named_binary(tmp_path, "cc1plus")
    helper.start()
    before = ctl(helper.bus, "status")["fast_path_events"]
    first = spawn_hog(cc1plus)
    try:
        assert wait_for(lambda: demoted(first.pid), 15), helper.log.read_text()
        # A second job joins the first one's process group: its existing group grows, not a new one.
        second = spawn_hog(cc1plus, process_group=first.pid)
        try:
            assert wait_for(lambda: demoted(second.pid), 15), helper.log.read_text()
            status = ctl(helper.bus, "status")
            assert status["fast_path_events"] >= before + 2
            apps = [a for a in ctl(helper.bus, "apps") if a["name"] == "cc1plus"]
            assert len(apps) == 1 and apps[0]["class"] == "background", apps
        finally:
            stop(second)
    finally:
        stop(first)


def test_signals_during_shutdown_neither_cut_the_restore_short_nor_print_tracebacks(
    helper: Helper, tmp_path: Path
) -> None:
    hog = spawn_hog(named_binary(tmp_path, "cc1plus"))
    try:
        before = sched_state(hog.pid)
        helper.start()
        assert wait_for(lambda: demoted(hog.pid), 5), helper.log.read_text()
        assert helper.proc is not None
        helper.proc.send_signal(signal.SIGTERM)
        while helper.proc.poll() is None:  # an impatient user: Ctrl-C and SIGTERM until it is gone
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(ProcessLookupError):
                    helper.proc.send_signal(sig)
            time.sleep(0.001)
        assert helper.proc.returncode == 0, helper.log.read_text()
        log = helper.log.read_text()
        assert "stopped:" in log
        assert "Traceback" not in log and "BrokenPipeError" not in log, log
        assert sched_state(hog.pid) == before
    finally:
        stop(hog)
