"""The timer-slack lever as data: thread_target's rules and the journal round trip."""

from __future__ import annotations

import json

import pytest

from smoothdesk.actuator.journal import JournalData, ProcEntry, ThreadRecord, from_json, to_json
from smoothdesk.actuator.levers import LeverSet, thread_target
from smoothdesk.actuator.syscalls import ThreadState
from smoothdesk.core import ProcKey
from smoothdesk.core.process import SCHED_BATCH, SCHED_FIFO, SCHED_IDLE, SCHED_OTHER

SLACK = LeverSet(slack_ns=1_000)
PLAIN = ThreadState(0, SCHED_OTHER, 0, 0, 50_000)


def test_the_slack_goes_down_and_nothing_else_moves() -> None:
    assert thread_target(PLAIN, SLACK) == PLAIN._replace(slack_ns=1_000)


def test_a_slack_already_tighter_is_the_threads_own() -> None:
    own = PLAIN._replace(slack_ns=1)  # e.g. an audio server that set 1 ns itself
    assert thread_target(own, SLACK) == own


def test_a_slack_that_could_not_be_read_is_left_alone() -> None:
    unknown = PLAIN._replace(slack_ns=0)
    assert thread_target(unknown, SLACK) == unknown


@pytest.mark.parametrize("policy", [SCHED_BATCH, SCHED_IDLE, SCHED_FIFO])
def test_only_sched_other_threads_get_a_tighter_slack(policy: int) -> None:
    assert thread_target(PLAIN._replace(policy=policy), SLACK).slack_ns == 50_000


def test_a_class_without_the_lever_gives_the_original_slack_back() -> None:
    assert thread_target(PLAIN, LeverSet(nice=19)) == PLAIN._replace(nice=19)
    assert thread_target(PLAIN, LeverSet(policy=SCHED_IDLE, slack_ns=1_000)).slack_ns == 50_000


def test_the_journal_keeps_each_threads_slack_and_reads_older_journals_as_unknown() -> None:
    key = ProcKey(4321, 77)
    entry = ProcEntry(key, 1000, "interactive")
    entry.threads[4321] = ThreadRecord(PLAIN, PLAIN._replace(slack_ns=1_000))
    data = JournalData(procs={key: entry})
    assert from_json(json.loads(json.dumps(to_json(data)))).procs[key].threads == entry.threads
    old = to_json(data)
    old["procs"][0]["threads"] = {"4321": [[0, 0, 0, 250_000], [0, 0, 0, 250_000]]}  # before slack
    rec = from_json(old).procs[key].threads[4321]
    assert (rec.orig.slack_ns, rec.set.slack_ns) == (0, 0)
