"""The slice lever as data: thread_target's rules, the lever table's promise, the journal round trip."""

from __future__ import annotations

import json

import pytest

from smoothdesk.actuator.journal import JournalData, ProcEntry, ThreadRecord, from_json, to_json
from smoothdesk.actuator.levers import (
    DEFAULT_LEVERS,
    LeverSet,
    thread_target,
    user_mode_levers,
    without_slices,
)
from smoothdesk.actuator.syscalls import SCHED_RESET_ON_FORK, ThreadState
from smoothdesk.core import PriorityClass, ProcKey
from smoothdesk.core.process import SCHED_BATCH, SCHED_FIFO, SCHED_IDLE, SCHED_OTHER

SLICE = LeverSet(slice_ns=250_000)
PLAIN = ThreadState(0, SCHED_OTHER, 0)


def test_a_thread_without_a_custom_slice_gets_it_with_reset_on_fork_and_nothing_else() -> None:
    # Reset-on-fork keeps the slice from being inherited by the processes the app starts.
    assert thread_target(PLAIN, SLICE) == ThreadState(0, SCHED_OTHER | SCHED_RESET_ON_FORK, 0, 250_000)
    niced = ThreadState(5, SCHED_OTHER | SCHED_RESET_ON_FORK, 16391)
    assert thread_target(niced, SLICE) == niced._replace(slice_ns=250_000)


def test_a_boosted_thread_gets_no_slice() -> None:
    # Reset-on-fork would start its children at nice 0 instead of its negative nice.
    boosted = ThreadState(-5, SCHED_OTHER, 0)
    assert thread_target(boosted, SLICE) == boosted


def test_a_slice_someone_else_chose_is_kept() -> None:
    own = ThreadState(0, SCHED_OTHER, 0, 2_000_000)
    assert thread_target(own, SLICE) == own
    assert thread_target(own, LeverSet(nice=19)) == own._replace(nice=19)


@pytest.mark.parametrize("policy", [SCHED_BATCH, SCHED_IDLE, SCHED_FIFO])
def test_only_sched_other_threads_get_a_slice(policy: int) -> None:
    state = ThreadState(0, policy, 0)
    assert thread_target(state, SLICE).slice_ns == 0


def test_a_class_that_moves_to_sched_idle_gets_no_slice() -> None:
    assert thread_target(PLAIN, LeverSet(policy=SCHED_IDLE, slice_ns=250_000)) == ThreadState(
        0, SCHED_IDLE, 0
    )


def test_a_class_without_the_lever_gives_the_original_slice_back() -> None:
    # What a class change from interactive to background plans: from the journaled original.
    assert thread_target(PLAIN, LeverSet(nice=19)).slice_ns == 0


def test_the_promoted_classes_pull_only_the_slice_and_the_timer_slack() -> None:
    for klass in (PriorityClass.CRITICAL, PriorityClass.INTERACTIVE):
        levers = DEFAULT_LEVERS[klass]
        assert levers.slice_ns is not None and levers.slack_ns is not None
        assert 100_000 <= levers.slice_ns < 1_400_000  # shorter than the base slice, within the clamp
        assert 0 < levers.slack_ns < 50_000  # below the kernel's default slack
        assert levers == LeverSet(slice_ns=levers.slice_ns, slack_ns=levers.slack_ns)
        assert levers.touches_threads
        assert not levers.touches_cgroup
    for klass in (PriorityClass.NORMAL, PriorityClass.BACKGROUND, PriorityClass.IDLE):
        assert DEFAULT_LEVERS[klass].slice_ns is None
        assert DEFAULT_LEVERS[klass].slack_ns is None


@pytest.mark.parametrize("rlimit", [0, 40])
def test_user_mode_drops_the_slice_and_the_slack(rlimit: int) -> None:
    # Without CAP_SYS_NICE the reset-on-fork flag that comes with it cannot be cleared again, and
    # another process's timer slack can be neither read nor set.
    table = user_mode_levers(DEFAULT_LEVERS, rlimit_nice=rlimit)
    assert all(levers.slice_ns is None and levers.slack_ns is None for levers in table.values())
    assert table[PriorityClass.BACKGROUND].ioprio == DEFAULT_LEVERS[PriorityClass.BACKGROUND].ioprio


def test_the_journal_keeps_each_threads_slice_and_reads_older_journals_as_none() -> None:
    key = ProcKey(1234, 99)
    entry = ProcEntry(key, 1000, "interactive")
    entry.threads[1234] = ThreadRecord(PLAIN, PLAIN._replace(slice_ns=250_000))
    entry.threads[1235] = ThreadRecord(PLAIN._replace(slice_ns=3_000_000), PLAIN._replace(slice_ns=3_000_000))
    data = JournalData(procs={key: entry})
    back = from_json(json.loads(json.dumps(to_json(data))))
    assert back.procs[key].threads == entry.threads

    old = to_json(data)
    old["procs"][0]["threads"] = {"1234": [[0, 0, 0], [19, 0, 16391]]}  # written before slices
    rec = from_json(old).procs[key].threads[1234]
    assert (rec.orig.slice_ns, rec.set.slice_ns) == (0, 0)


def test_a_kernel_without_slices_gets_the_table_without_them() -> None:
    table = without_slices(DEFAULT_LEVERS)
    assert all(levers.slice_ns is None for levers in table.values())
    assert table[PriorityClass.IDLE] == DEFAULT_LEVERS[PriorityClass.IDLE]
