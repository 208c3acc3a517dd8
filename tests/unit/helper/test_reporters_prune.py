"""Hints outlive a tick whose table has not read their process yet, and die with the process."""

from __future__ import annotations

import subprocess

from smoothdesk.core import ProcessRecord
from smoothdesk.dbus.procref import start_time
from smoothdesk.helper.reporters import ReportBook


def test_a_hinted_process_the_table_has_not_read_yet_keeps_its_hint_until_it_exits() -> None:
    window = subprocess.Popen(["sleep", "60"])
    try:
        started = start_time(window.pid)
        assert started is not None
        reports = ReportBook()
        reports.set_focus(":1.7", 1000, {window.pid: started})
        # The tick's table does not hold the new window yet: the hint must stay.
        assert reports.prune({}) is False
        assert reports.hints().focused_pids == {window.pid}
        # A table that holds the pid with another start time is a reused pid: the hint goes.
        other = ProcessRecord(pid=window.pid, ppid=1, uid=1000, comm="x", start_time=started + 1)
        assert reports.prune({window.pid: other}) is True
        assert reports.hints().focused_pids == frozenset()
        reports.set_focus(":1.7", 1000, {window.pid: started})
    finally:
        window.kill()
        window.wait()
    assert reports.prune({}) is True
    assert reports.hints().focused_pids == frozenset()
