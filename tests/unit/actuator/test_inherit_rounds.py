"""restore_rounds: sweep and give back until a sweep finds nothing; past the bound, journal the rest."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from smoothdesk.actuator import inherit_sweep
from smoothdesk.actuator.inherit import Ancestor, Inheritance
from smoothdesk.actuator.journal import JournalData, ProcEntry, ThreadRecord
from smoothdesk.actuator.levers import DEFAULT_LEVERS
from smoothdesk.actuator.syscalls import ThreadState
from smoothdesk.core import ProcKey

DEMOTED = ThreadRecord(ThreadState(0, 0, 0), ThreadState(19, 0, 0))


class Storm:
    """Stands in for the sweep of a process tree: the n-th sweep finds `found[n]` processes born
    demoted since the one before (new pids), and journals them as a real sweep would."""

    def __init__(self, found: list[int]) -> None:
        self.found = found
        self.calls = 0
        self.next_pid = 1000

    def __call__(self, inh: Inheritance, data: JournalData, remembered: dict[int, Ancestor]) -> int:
        n = self.found[self.calls] if self.calls < len(self.found) else self.found[-1]
        self.calls += 1
        for _ in range(n):
            key = ProcKey(self.next_pid, 1)
            data.procs[key] = ProcEntry(key, 0, "background", {key.pid: DEMOTED})
            self.next_pid += 1
        return n


def rounds(storm: Storm, monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    monkeypatch.setattr(inherit_sweep, "sweep", storm)
    data = JournalData()
    inh = Inheritance(Path("/proc"), None, DEFAULT_LEVERS)
    for found in inherit_sweep.restore_rounds(inh, data):
        data.procs.clear()  # the caller gives back everything journaled
        yield found
    yield -len(data.procs)  # what is left journaled, as a negative count


def test_rounds_go_on_while_a_sweep_finds_more(monkeypatch: pytest.MonkeyPatch) -> None:
    storm = Storm([4, 3, 2, 1, 1, 1, 0])
    assert list(rounds(storm, monkeypatch)) == [4, 3, 2, 1, 1, 1, 0]
    assert storm.calls == 7  # the seventh found nothing: done, nothing left


def test_a_storm_past_the_bound_stays_journaled(monkeypatch: pytest.MonkeyPatch) -> None:
    storm = Storm([2])  # every sweep finds two more, forever
    out = list(rounds(storm, monkeypatch))
    assert out[:-1] == [2] * inherit_sweep.ROUNDS
    # One more sweep after the last round: what it found is not given back, but journaled.
    assert out[-1] == -2
    assert storm.calls == inherit_sweep.ROUNDS + 1
