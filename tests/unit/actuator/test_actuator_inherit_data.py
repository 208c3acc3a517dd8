"""Inherited demotions as data: which originals a child gets, what apply() keeps, what the journal says."""

from __future__ import annotations

import json
import os
from pathlib import Path

from smoothdesk.actuator.inherit import Inheritance, ancestors, inherited_record
from smoothdesk.actuator.journal import CgroupEntry, Journal, JournalData, ProcEntry, ThreadRecord
from smoothdesk.actuator.levers import DEFAULT_LEVERS
from smoothdesk.actuator.syscalls import IOPRIO_CLASS_BE, ThreadState, ioprio_value, read_start_time
from smoothdesk.core import ProcessRecord, ProcKey

BE7 = ioprio_value(IOPRIO_CLASS_BE, 7)
PARENT = ProcKey(100, 5000)


def parent_entry() -> ProcEntry:
    return ProcEntry(
        PARENT,
        0,
        "background",
        {
            100: ThreadRecord(ThreadState(3, 0, 0), ThreadState(19, 0, BE7)),
            101: ThreadRecord(ThreadState(5, 0, 0), ThreadState(19, 0, BE7)),
        },
    )


def test_each_lever_still_at_the_parents_demoted_value_gets_the_parents_original() -> None:
    rec = inherited_record(parent_entry(), ThreadState(19, 0, BE7))
    assert rec.orig == ThreadState(3, 0, 0)  # the leader's originals
    assert rec.set == ThreadState(19, 0, BE7)


def test_the_thread_that_forked_is_the_one_the_child_copied() -> None:
    assert inherited_record(parent_entry(), ThreadState(19, 0, BE7), prefer=101).orig.nice == 5


def test_a_lever_the_child_set_itself_is_its_own() -> None:
    rec = inherited_record(parent_entry(), ThreadState(10, 0, BE7))
    assert rec.orig == ThreadState(10, 0, 0)  # nice 10 is its own; the ioprio is still ours
    assert rec.orig.nice == rec.set.nice  # so a restore leaves that nice alone


def test_journal_keeps_the_parent_and_reads_entries_without_one(tmp_path: Path) -> None:
    data = JournalData()
    child = ProcKey(200, 5100)
    data.procs[PARENT] = parent_entry()
    data.procs[child] = ProcEntry(
        child, 0, "background", {200: inherited_record(parent_entry(), ThreadState(19, 0, BE7))}, PARENT
    )
    data.cgroups["pid:200@5100"] = CgroupEntry(
        "pid:200@5100", "cgroup-v1", "background", {"path": "/"}, child, PARENT
    )
    journal = Journal(tmp_path)
    journal.save(data)
    assert journal.load() == data
    saved = {p["key"]["pid"]: p for p in json.loads(journal.path.read_text())["procs"]}
    assert "parent" not in saved[100] and saved[200]["parent"] == {"pid": 100, "start": 5000}
    index = ancestors(journal.load())
    assert index[200].proc is not None and index[200].cgroup is not None
    assert index[100].cgroup is None


def test_apply_keeps_an_adopted_child_the_table_has_not_read_yet() -> None:
    me = ProcKey(os.getpid(), read_start_time(os.getpid(), Path("/proc")))
    gone_long_ago = ProcKey(os.getpid(), 1)  # same pid, another start time: not this process
    data = JournalData()
    for key, parent in ((me, PARENT), (gone_long_ago, PARENT)):
        data.procs[key] = ProcEntry(key, 0, "background", {}, parent)
    direct = ProcKey(4_000_000, 1)
    data.procs[direct] = ProcEntry(direct, 0, "background")
    data.cgroups["t"] = CgroupEntry("t", "cgroup-v1", "background", {"path": "/"}, me, PARENT)
    inh = Inheritance(Path("/proc"), None, DEFAULT_LEVERS)
    procs, cgroups = inh.unseen(data, list(data.procs), ["t"], {})
    assert procs == [gone_long_ago, direct]  # a dead child and our own demotion go back as before
    assert cgroups == []
    seen = {me.pid: ProcessRecord(me.pid, 1, 0, "x", me.start_time)}
    assert inh.unseen(data, [me], ["t"], seen) == ([me], ["t"])  # once read, the decision rules


def test_never_itself_pid_1_or_another_users_process_in_user_mode() -> None:
    inh = Inheritance(Path("/proc"), None, DEFAULT_LEVERS, user_uid=1000)
    assert inh.allowed(4242, 1000)
    assert not inh.allowed(4242, 0)
    assert not inh.allowed(1, 1000)
    assert not inh.allowed(os.getpid(), 1000)


def test_the_journaled_ancestor_walk_ends_on_a_ppid_cycle_of_equal_start_times() -> None:
    from smoothdesk.actuator.inherit import Ancestor
    from smoothdesk.actuator.inherit_sweep import _journaled_ancestor, _Stat

    # /proc read while pids are reused: 201 names 202 its parent and 202 names 201, one start tick.
    table = {200: _Stat(201, 700, False), 201: _Stat(202, 700, False), 202: _Stat(201, 700, False)}
    assert _journaled_ancestor(200, table[200], table, {}) is None
    known = {202: Ancestor(ProcKey(202, 700), "background")}
    assert _journaled_ancestor(200, table[200], table, known) == known[202]
