"""The journal: JSON round trip, atomic writes, and errors that name the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from smoothdesk.actuator import ActuatorError, Journal, default_run_dir
from smoothdesk.actuator.journal import (
    AutogroupEntry,
    CgroupEntry,
    JournalData,
    ProcEntry,
    ThreadRecord,
)
from smoothdesk.actuator.syscalls import ThreadState
from smoothdesk.core import ProcKey


def sample() -> JournalData:
    key = ProcKey(1234, 98765)
    data = JournalData()
    data.procs[key] = ProcEntry(
        key,
        1000,
        "background",
        {1234: ThreadRecord(ThreadState(5, 0, 0), ThreadState(10, 3, 16391))},
    )
    data.autogroups[77] = AutogroupEntry(77, 0, 19, key)
    data.cgroups["pid:1234@98765"] = CgroupEntry("pid:1234@98765", "cgroup-v1", "idle", {"path": "/x"}, key)
    data.irreversible.append("note")
    return data


def test_round_trip(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "run")
    journal.save(sample())
    assert journal.load() == sample()
    assert journal.writes == 1


def test_save_leaves_no_temporary_file_and_is_private(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "run")
    journal.save(sample())
    assert [p.name for p in (tmp_path / "run").iterdir()] == ["journal.json"]
    assert journal.path.stat().st_mode & 0o077 == 0
    assert json.loads(journal.path.read_text())["version"] == 1


def test_missing_journal_loads_empty_and_delete_is_idempotent(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    assert journal.load().empty()
    journal.delete()
    assert not journal.exists()


def test_corrupt_journal_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "journal.json").write_text('{"version": 1, "procs": [{"key": null}]}')
    with pytest.raises(ActuatorError, match=str(tmp_path / "journal.json")):
        Journal(tmp_path).load()
    (tmp_path / "journal.json").write_text("not json")
    with pytest.raises(ActuatorError, match="unreadable"):
        Journal(tmp_path).load()


def test_default_run_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    assert default_run_dir(user_mode=False) == Path("/run/smoothdesk")
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/1000")
    assert default_run_dir(user_mode=True) == Path("/run/user/1000/smoothdesk")


def test_save_waits_for_no_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # An fsync is ~1 ms of unpreemptible kernel time per save on ext4 (see Journal).
    def no_fsync(fd: int) -> None:
        raise AssertionError("Journal.save called fsync")

    monkeypatch.setattr("os.fsync", no_fsync)
    journal = Journal(tmp_path / "run")
    journal.save(sample())
    assert journal.load() == sample()


def test_a_journal_saved_just_before_a_sigkill_is_read_by_the_next_helper(tmp_path: Path) -> None:
    import subprocess
    import sys

    script = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "sys.path.insert(0, sys.argv[2])\n"
        "from tests.unit.actuator.test_actuator_journal import sample\n"
        "from smoothdesk.actuator import Journal\n"
        "Journal(Path(sys.argv[1])).save(sample())\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    repo = Path(__file__).resolve().parents[3]
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "run"), str(repo)], check=False, timeout=60
    )
    assert done.returncode == -9
    assert Journal(tmp_path / "run").load() == sample()
