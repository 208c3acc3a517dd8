"""The lever table's only-lower rule and the user-mode reduction."""

from __future__ import annotations

import pytest

from smoothdesk.actuator import DEFAULT_LEVERS, LeverSet, thread_target, user_mode_levers
from smoothdesk.actuator.syscalls import (
    IOPRIO_CLASS_BE,
    IOPRIO_CLASS_IDLE,
    IOPRIO_CLASS_NONE,
    IOPRIO_CLASS_RT,
    SCHED_RESET_ON_FORK,
    ThreadState,
    ioprio_split,
    ioprio_value,
)
from smoothdesk.core import PriorityClass
from smoothdesk.core.process import SCHED_BATCH, SCHED_FIFO, SCHED_IDLE, SCHED_OTHER

BG = LeverSet(nice=10, policy=SCHED_BATCH, ioprio=(IOPRIO_CLASS_BE, 7))
PLAIN = ThreadState(0, SCHED_OTHER, ioprio_value(IOPRIO_CLASS_NONE, 0))


def test_plain_thread_is_lowered_on_every_lever() -> None:
    t = thread_target(PLAIN, BG)
    assert t == ThreadState(10, SCHED_BATCH, ioprio_value(IOPRIO_CLASS_BE, 7))


def test_never_raises_a_lever_that_is_already_lower() -> None:
    low = ThreadState(15, SCHED_IDLE, ioprio_value(IOPRIO_CLASS_IDLE, 0))
    assert thread_target(low, BG) == low


def test_only_the_levers_that_are_higher_move() -> None:
    mixed = ThreadState(12, SCHED_OTHER, ioprio_value(IOPRIO_CLASS_BE, 2))
    t = thread_target(mixed, BG)
    assert t.nice == 12
    assert t.policy == SCHED_BATCH
    assert ioprio_split(t.ioprio) == (IOPRIO_CLASS_BE, 7)


def test_realtime_thread_is_left_alone() -> None:
    rt = ThreadState(0, SCHED_FIFO, 0)
    assert thread_target(rt, DEFAULT_LEVERS[PriorityClass.IDLE]) == rt


def test_realtime_io_class_is_not_lowered() -> None:
    rt_io = ThreadState(0, SCHED_OTHER, ioprio_value(IOPRIO_CLASS_RT, 4))
    assert thread_target(rt_io, BG).ioprio == rt_io.ioprio


def test_none_io_class_counts_as_the_nice_derived_level() -> None:
    # nice 19 with class NONE already means best-effort level 7: nothing lower to do.
    niced = ThreadState(19, SCHED_OTHER, ioprio_value(IOPRIO_CLASS_NONE, 0))
    assert thread_target(niced, LeverSet(ioprio=(IOPRIO_CLASS_BE, 7))).ioprio == niced.ioprio
    assert thread_target(niced, LeverSet(ioprio=(IOPRIO_CLASS_IDLE, 0))).ioprio == ioprio_value(
        IOPRIO_CLASS_IDLE, 0
    )


def test_reset_on_fork_flag_survives() -> None:
    flagged = ThreadState(0, SCHED_OTHER | SCHED_RESET_ON_FORK, 0)
    assert thread_target(flagged, BG).policy == SCHED_BATCH | SCHED_RESET_ON_FORK


@pytest.mark.parametrize("klass", [PriorityClass.CRITICAL, PriorityClass.INTERACTIVE, PriorityClass.NORMAL])
def test_undemoted_classes_change_nothing_but_the_slice_and_the_slack(klass: PriorityClass) -> None:
    # Neither takes CPU share from anyone (see test_actuator_slices and test_actuator_slack).
    levers = DEFAULT_LEVERS[klass]
    assert levers == LeverSet(slice_ns=levers.slice_ns, slack_ns=levers.slack_ns)
    target = thread_target(PLAIN, levers)
    reset = target.policy & ~SCHED_RESET_ON_FORK
    assert target._replace(slice_ns=0, policy=reset, slack_ns=PLAIN.slack_ns) == PLAIN


@pytest.mark.parametrize("klass", [PriorityClass.BACKGROUND, PriorityClass.IDLE])
def test_demoted_classes_lower_something(klass: PriorityClass) -> None:
    levers = DEFAULT_LEVERS[klass]
    assert thread_target(PLAIN, levers) != PLAIN or levers.touches_cgroup or levers.autogroup_nice


def test_idle_is_at_least_as_low_as_background() -> None:
    bg = thread_target(PLAIN, DEFAULT_LEVERS[PriorityClass.BACKGROUND])
    idle = thread_target(PLAIN, DEFAULT_LEVERS[PriorityClass.IDLE])
    assert idle.nice >= bg.nice


def test_user_mode_drops_what_the_owner_cannot_undo() -> None:
    table = {PriorityClass.IDLE: LeverSet(nice=19, policy=SCHED_IDLE, ioprio=(2, 7), autogroup_nice=19)}
    strict = user_mode_levers(table, rlimit_nice=0)[PriorityClass.IDLE]
    assert strict.nice is None
    assert strict.policy is None
    assert strict.ioprio == (2, 7)
    assert strict.autogroup_nice == 19
    lenient = user_mode_levers(table, rlimit_nice=20)[PriorityClass.IDLE]
    assert lenient == table[PriorityClass.IDLE]
