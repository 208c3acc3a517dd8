"""The extended Helper1 API on a real root helper, with the real polkitd, called as nobody and root."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from smoothdesk.dbus import errors
from smoothdesk.dbus.procref import start_time
from tests.support.polkit import polkit_system_bus
from tests.support.procs import stat_fields, stop, wait_for
from tests.support.users import REPO, drop_to_nobody, unprivileged_python

pytestmark = pytest.mark.root


@dataclass
class Helper:
    address: str
    rules_file: Path
    extra_root: Path
    config: Path


def calls(address: str, *items: list[Any], nobody: bool = False) -> list[dict[str, Any]]:
    """Make the calls through tests/support/agent.py, as nobody or root; one answer per call."""
    exe, env = unprivileged_python() if nobody else (sys.executable, None)
    out = subprocess.run(
        [exe, "-m", "tests.support.agent", address, json.dumps(list(items))],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd="/" if nobody else REPO,
        env=env,
        preexec_fn=drop_to_nobody if nobody else None,
    )
    return [json.loads(line) for line in out.stdout.splitlines()]


def ctl(address: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "smoothdesk.cli.main", "--bus", address, *args],
        capture_output=True, text=True, timeout=60, check=False, cwd=REPO,
    )  # fmt: skip


def app_of(address: str, pid: int) -> dict[str, Any] | None:
    done = ctl(address, "--json", "apps", str(pid))
    return json.loads(done.stdout)[0] if done.returncode == 0 else None


def sleeper(*, nobody: bool) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        ["sleep", "600"], start_new_session=True, preexec_fn=drop_to_nobody if nobody else None
    )


@pytest.fixture(scope="module")
def helper(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Helper]:
    tmp = tmp_path_factory.mktemp("api")
    config = tmp / "c.toml"
    config.write_text("[helper]\ntick = 0.2\n[rules]\nananicy_dirs = []\n")
    extra = tmp / "ananicy-root"
    (extra / "good").mkdir(parents=True)
    (extra / "good" / "x.rules").write_text('{"name": "sd-test-hog", "nice": 19}\n{broken\n')
    (extra / "escape").symlink_to("/etc")
    rules_file = tmp / "rules" / "90-dbus.toml"
    with polkit_system_bus() as address:
        proc = subprocess.Popen(
            [sys.executable, "-m", "smoothdesk.helper.main", "--bus", address, "--config", str(config),
             "--run-dir", str(tmp / "run"), "--rules-write-path", str(rules_file),
             "--ananicy-root", str(extra)],
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            assert wait_for(lambda: ctl(address, "status").returncode == 0, 15)
            yield Helper(address, rules_file, extra, config)
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=15) == 0


def denied(answer: dict[str, Any]) -> bool:
    return answer.get("error") == errors.ACCESS_DENIED


def invalid(answer: dict[str, Any], argument: str) -> bool:
    return answer.get("error") == errors.INVALID_ARGS and f"'{argument}'" in answer["message"]


def test_nobody_is_denied_admin_and_other_users_processes(helper: Helper) -> None:
    root_sleep = sleeper(nobody=False)
    try:
        assert wait_for(lambda: app_of(helper.address, root_sleep.pid) is not None, 10)
        answers = calls(
            helper.address,
            ["AddRule", {"name": "sd-x", "class": "idle"}],
            ["DeleteRule", {"name": "sd-x"}],
            ["ImportAnanicy", str(helper.extra_root / "good")],
            ["Pause", 0.0],
            ["SetClass", str(root_sleep.pid), "idle", 0.0],
            ["ReportFocus", root_sleep.pid, start_time(root_sleep.pid)],
            ["ReportAudio", [[root_sleep.pid, start_time(root_sleep.pid)]]],
            nobody=True,
        )
        assert all(denied(a) for a in answers), answers
        assert not helper.rules_file.exists()
        assert app_of(helper.address, root_sleep.pid)["pinned"] == ""  # type: ignore[index]
        assert '"paused": false' in ctl(helper.address, "--json", "status").stdout
    finally:
        stop(root_sleep)


def test_nobody_demotes_and_focuses_its_own_processes(helper: Helper) -> None:
    demote, focus = sleeper(nobody=True), sleeper(nobody=True)
    try:
        assert wait_for(lambda: app_of(helper.address, demote.pid) is not None, 10)
        assert wait_for(lambda: app_of(helper.address, focus.pid) is not None, 10)
        start = start_time(focus.pid)
        assert start is not None
        set_bg, raise_it, report, wrong, by_fd, bad_fd, audio = calls(
            helper.address,
            ["SetClass", str(demote.pid), "background", 0.0],
            ["SetClass", str(focus.pid), "interactive", 0.0],  # adjust-own: no active session here
            ["ReportFocus", focus.pid, start],
            ["ReportFocus", focus.pid, start + 1],
            ["ReportFocusFd", f"pidfd:{focus.pid}"],
            ["ReportFocusFd", "file:/etc/hostname"],
            ["ReportAudio", [[focus.pid, start]]],
            nobody=True,
        )
        assert audio == {"ok": []}, audio
        assert set_bg == {"ok": []}, set_bg
        assert denied(raise_it), raise_it
        assert report == {"ok": []} and by_fd == {"ok": []}, (report, by_fd)
        assert invalid(wrong, "pid"), wrong
        assert invalid(bad_fd, "pidfd"), bad_fd
        assert wait_for(lambda: int(stat_fields(demote.pid)[16]) > 0, 10)
        app = app_of(helper.address, demote.pid)
        assert app is not None and app["class"] == "background" and app["pinned"] == "background"

        def focused() -> bool:
            info = app_of(helper.address, focus.pid)
            return (
                info is not None
                and info["class"] == "interactive"
                and any("focus" in r for r in info["reasons"])
            )

        assert wait_for(focused, 10)
        # Root may pin nobody's app and report focus for any process.
        root = calls(
            helper.address,
            ["SetClass", str(focus.pid), "idle", 30.0],
            ["ReportFocus", demote.pid, start_time(demote.pid)],
            ["ReportFocus", 0, 0],
        )
        assert root == [{"ok": []}] * 3, root
    finally:
        stop(demote, focus)


def test_root_manages_rules_and_imports_only_under_allowed_roots(helper: Helper) -> None:
    bomb, bad_class, unknown, added, listed, removed = calls(
        helper.address,
        ["AddRule", {"cmdline": "(a+)+$", "class": "idle"}],
        ["AddRule", {"name": "sd-x", "class": "turbo"}],
        ["AddRule", {"name": "sd-x", "class": "idle", "nice": "5"}],
        ["AddRule", {"name": "sd-test-rule", "class": "idle"}],
        ["ListRules"],
        ["DeleteRule", {"name": "sd-test-rule"}],
    )
    assert invalid(bomb, "cmdline") and "too complex" in bomb["message"], bomb
    assert invalid(bad_class, "class"), bad_class
    assert invalid(unknown, "rule"), unknown
    assert added == {"ok": [str(helper.rules_file)]}, added
    assert any(r.get("source", "").startswith(str(helper.rules_file)) for r in listed["ok"][0]), listed
    assert removed == {"ok": [1]}, removed
    assert "sd-test-rule" not in helper.rules_file.read_text()

    outside, escape, relative, good = calls(
        helper.address,
        ["ImportAnanicy", "/tmp/x"],
        ["ImportAnanicy", str(helper.extra_root / "escape")],
        ["ImportAnanicy", "etc/ananicy.d"],
        ["ImportAnanicy", str(helper.extra_root / "good")],
    )
    for answer in (outside, escape, relative):
        assert invalid(answer, "path"), answer
    summary = good["ok"][0]
    assert (summary["rules"], summary["errors"]) == (1, 1), summary
    assert any("sd-test-hog" in json.dumps(r) for r in calls(helper.address, ["ListRules"])[0]["ok"][0])


def test_reads_history_config_doctor(helper: Helper) -> None:
    assert wait_for(lambda: len(calls(helper.address, ["GetHistory", 60.0])[0]["ok"][0]) >= 2, 10)
    history, clamped, bad, config, doctor = calls(
        helper.address,
        ["GetHistory", 60.0],
        ["GetHistory", 1e9],
        ["GetHistory", -1.0],
        ["GetConfig"],
        ["GetDoctor"],
        nobody=True,
    )
    sample = history["ok"][0][-1]
    assert {"time", "cpu_busy", "psi_cpu_some", "mem_available", "demoted", "tick_cost_ms"} <= set(sample)
    assert len(clamped["ok"][0]) >= len(history["ok"][0])
    assert invalid(bad, "seconds"), bad
    tick = config["ok"][0]["helper.tick"]
    assert tick["value"] == 0.2 and str(helper.config) in tick["origin"], tick
    assert {f["key"] for f in doctor["ok"][0]} >= {"autogroup", "psi"}


def test_ctl_rules_history_and_helper_doctor(helper: Helper) -> None:
    add = ctl(helper.address, "--json", "rules", "add", "--name", "sd-ctl", "--class", "idle")
    assert add.returncode == 0 and json.loads(add.stdout)["source"] == str(helper.rules_file), add
    bad = ctl(helper.address, "rules", "add", "--cmdline", "(.*)*", "--class", "idle")
    assert bad.returncode == 1 and len(bad.stderr.splitlines()) == 1 and "cmdline" in bad.stderr
    delete = ctl(helper.address, "--json", "rules", "delete", "--name", "sd-ctl")
    assert delete.returncode == 0 and json.loads(delete.stdout)["removed"] == 1
    imp = ctl(helper.address, "rules", "import", "/tmp/nope")
    assert imp.returncode == 1 and "path" in imp.stderr and "Traceback" not in imp.stderr
    history = ctl(helper.address, "--json", "history", "--since", "10m")
    assert history.returncode == 0 and len(json.loads(history.stdout)) >= 2
    assert "CPU%" in ctl(helper.address, "history").stdout
    doctor = ctl(helper.address, "--json", "doctor", "--helper")
    assert "helper" not in {f["key"] for f in json.loads(doctor.stdout)}  # the helper's own view
    assert os.path.exists(helper.rules_file)
