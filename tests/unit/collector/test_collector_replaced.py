"""ProcessTable.replaced: the pids whose record may differ from the last snapshot's, and no others."""

from __future__ import annotations

from pathlib import Path

from collector_fakes import FakeProc, write_cpu

from smoothdesk.collector.tracker import ProcessTable


def test_replaced_names_new_and_changed_processes_and_every_other_record_is_shared(tmp_path: Path) -> None:
    proc = tmp_path / "proc"
    busy, idle = FakeProc(10), FakeProc(11)
    for p in (busy, idle):
        p.write(proc)
    write_cpu(proc, user=100)
    table = ProcessTable(tmp_path, full_every=1.0)
    first = table.tick(0.0)
    assert table.replaced == {10, 11}  # both new
    busy.utime = 40
    busy.write(proc)
    FakeProc(12).write(proc)
    write_cpu(proc, user=140)
    second = table.tick(2.0)  # past full_every: /proc listed again and every process read
    assert {10, 12} <= table.replaced and 11 not in table.replaced
    changed = {p for p in second.processes if first.processes.get(p) is not second.processes[p]}
    assert changed <= table.replaced  # nothing outside it differs
    assert second.processes[11] is first.processes[11]
    third = table.tick(4.0)  # busy went quiet: its record changes (no CPU now), idle's does not
    assert 10 in table.replaced and third.processes[10] is not second.processes[10]
    assert 11 not in table.replaced and third.processes[11] is second.processes[11]
