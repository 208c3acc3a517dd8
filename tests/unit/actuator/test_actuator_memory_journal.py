"""The journal keeps the memory levers' originals: round trip, emptiness, and older journals without them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from smoothdesk.actuator.errors import ActuatorError
from smoothdesk.actuator.journal import Journal, JournalData, OomEntry, UnitPropertyEntry
from smoothdesk.core import ProcKey


def test_oom_and_unit_entries_round_trip(tmp_path: Path) -> None:
    key = ProcKey(4242, 987)
    data = JournalData(
        oom={key: OomEntry(key, 200, -500, "protect")},
        units={"app-x.scope": UnitPropertyEntry("app-x.scope", "MemoryLow", 0, 256 << 20)},
    )
    assert not data.empty()
    journal = Journal(tmp_path)
    journal.save(data)
    assert journal.load() == data


def test_only_memory_entries_still_count_as_something_to_undo() -> None:
    key = ProcKey(1, 2)
    assert not JournalData(oom={key: OomEntry(key, 0, 500, "expose")}).empty()
    assert not JournalData(units={"u": UnitPropertyEntry("u", "MemoryLow", 0, 1)}).empty()
    assert JournalData().empty()


def test_a_journal_written_before_the_memory_levers_loads(tmp_path: Path) -> None:
    (tmp_path / "journal.json").write_text(
        json.dumps({"version": 1, "procs": [], "autogroups": [], "cgroups": []})
    )
    data = Journal(tmp_path).load()
    assert data.oom == {} and data.units == {} and data.empty()


def test_a_corrupt_oom_entry_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "journal.json").write_text(json.dumps({"version": 1, "oom": [{"key": {"pid": 1}}]}))
    with pytest.raises(ActuatorError, match=r"journal\.json: unreadable journal"):
        Journal(tmp_path).load()
