"""smoothdeskctl's local commands and the helper's --once, on this real machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.procs import named_binary, sched_state, spawn_hog, stop
from tests.support.users import REPO

CACHYOS = REPO / "tests/data/ananicy/cachyos"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=60, check=False, cwd=REPO
    )


def test_doctor_reports_this_machine() -> None:
    out = run("-m", "smoothdesk.cli.main", "doctor", "--json", "--bus", "unix:path=/nonexistent")
    findings = {f["key"]: f for f in json.loads(out.stdout)}
    autogroup = Path("/proc/sys/kernel/sched_autogroup_enabled").read_text().strip()
    assert ("on" in findings["autogroup"]["summary"].lower()) == (autogroup == "1")
    assert findings["psi"]["status"] == ("ok" if Path("/proc/pressure/cpu").exists() else "missing")
    assert findings["helper"]["status"] == "warn"
    assert "not reachable" in findings["helper"]["summary"]
    release = tuple(int(x) for x in os.uname().release.split(".")[:2])
    assert ("are honoured" in findings["slices"]["summary"]) == (release >= (6, 12))
    for f in findings.values():
        assert f["meaning"], f


def test_rules_check_imports_cachyos_clean() -> None:
    out = run("-m", "smoothdesk.cli.main", "rules", "check", "--json", "--ananicy", str(CACHYOS))
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["errors"] == []
    assert data["rules"] > 200


def test_rules_check_names_the_bad_line(tmp_path: Path) -> None:
    (tmp_path / "mine.rules").write_text('{"name": "ok1", "type": "Heavy_CPU"}\n{"name": broken\n')
    (tmp_path / "00-types.types").write_text('{"type": "Heavy_CPU", "nice": 9}\n')
    out = run("-m", "smoothdesk.cli.main", "rules", "check", "--ananicy", str(tmp_path))
    assert out.returncode == 1
    assert f"{tmp_path / 'mine.rules'}:2:" in out.stdout
    assert "rules loaded; 1 errors" in out.stdout


def test_rules_check_missing_dir_is_usage_error(tmp_path: Path) -> None:
    out = run("-m", "smoothdesk.cli.main", "rules", "check", "--ananicy", str(tmp_path / "nope"))
    assert out.returncode == 2
    assert "is not a directory" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.root
def test_once_prints_decisions_and_changes_nothing(tmp_path: Path) -> None:
    hog = spawn_hog(named_binary(tmp_path, "cc1plus"))
    try:
        before = sched_state(hog.pid)
        config = tmp_path / "c.toml"
        config.write_text("[rules]\nananicy_dirs = []\n")
        out = run(
            "-m",
            "smoothdesk.helper.main",
            "--once",
            "--json",
            "--config",
            str(config),
            "--run-dir",
            str(tmp_path / "run"),
        )
        assert out.returncode == 0, out.stderr
        data = json.loads(out.stdout)
        mine = [d for d in data["decisions"] if hog.pid in d["pids"]]
        assert len(mine) == 1
        assert mine[0]["class"] == "background"
        assert any("cc1plus" in r for r in mine[0]["reasons"])
        assert sched_state(hog.pid) == before
        assert not (tmp_path / "run").exists()
    finally:
        stop(hog)


def test_helper_rejects_bad_config_with_file_and_line(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[helper]\ntick = 'soon'\n")
    out = run("-m", "smoothdesk.helper.main", "--once", "--config", str(config))
    assert out.returncode == 1
    assert out.stderr.strip() == f"smoothdesk-helper: {config}:2: helper.tick: expected float, got str"
