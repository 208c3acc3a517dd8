"""Property tests: guardrails hold and decide() is deterministic for random worlds."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from policy_fakes import snap, system

from smoothdesk.core import Classification, Hints, Pin, PriorityClass, ProcessRecord
from smoothdesk.core.process import SCHED_BATCH, SCHED_IDLE, SCHED_OTHER
from smoothdesk.policy.engine import PolicyInputs, PolicyState, decide
from smoothdesk.policy.engine_types import clock_bound
from smoothdesk.policy.grouper import group_processes

UNITS = [None, None, "app-gnome-firefox-1234.scope", "cron.service", "session-2.scope"]
POLICIES = [SCHED_OTHER, SCHED_OTHER, SCHED_OTHER, 1, 2, SCHED_BATCH, SCHED_IDLE, 6]
CLASSES = list(PriorityClass)


@st.composite
def process(draw, pid):
    kernel = pid == 2 or draw(st.integers(0, 9)) == 0
    cpu = draw(st.sampled_from([0.0, 5.0, 40.0, 75.0, 95.0, 180.0]))
    return ProcessRecord(
        pid=pid,
        ppid=draw(st.integers(0, 40)),
        uid=0 if kernel else draw(st.sampled_from([0, 1000, 1000, 1001])),
        comm=f"p{pid}",
        start_time=draw(st.integers(1, 500)),
        unit=None if kernel else draw(st.sampled_from(UNITS)),
        session=0 if kernel else draw(st.sampled_from([1, 7, 9])),
        pgrp=0 if kernel else draw(st.sampled_from([1, 7, 8, 9, pid])),
        nice=draw(st.sampled_from([0, 0, 0, 5, -5, 19])),
        policy=SCHED_OTHER if kernel else draw(st.sampled_from(POLICIES)),
        ioprio=draw(st.sampled_from([None, 0, (2 << 13) | 4, (3 << 13), (2 << 13) | 7])),
        affinity_restricted=draw(st.integers(0, 9)) == 0,
        kernel_thread=kernel,
        cpu_10s=cpu,
        cpu_tick=draw(st.sampled_from([0.0, cpu, 100.0])),
    )


@st.composite
def world(draw):
    pids = draw(st.lists(st.integers(1, 40), min_size=1, max_size=25, unique=True))
    procs = [draw(process(pid)) for pid in sorted(pids)]
    sys = draw(st.sampled_from([system(), system(psi=30.0, running=8, busy=100.0)]))
    snapshot = snap(*procs, sys=sys)
    own = frozenset(draw(st.lists(st.sampled_from(pids), max_size=2)))
    groups = group_processes(snapshot, own_pids=own)
    gids = [g.id for g in groups]
    picked = st.lists(st.sampled_from(pids), max_size=6)
    classifications = {
        pid: Classification("t", draw(st.sampled_from(CLASSES)), "r", "f.toml:1") for pid in draw(picked)
    }
    pins = {
        gid: Pin(gid, draw(st.sampled_from(CLASSES)), draw(st.sampled_from([None, 0.5, 99.0])))
        for gid in draw(st.lists(st.sampled_from(gids), max_size=3))
    }
    return PolicyInputs(
        snapshot=snapshot,
        groups=groups,
        classifications=classifications,
        now=0.0,
        pins=pins,
        hints=Hints(frozenset(draw(picked)), frozenset(draw(picked))),
        user_mode_uid=draw(st.sampled_from([None, 1000])),
        managed_keys=frozenset(p.key for p in procs if p.pid in draw(picked)),
        own_pids=own,
        paused=draw(st.booleans()),
    )


def _must_be_exempt(p: ProcessRecord, inputs: PolicyInputs) -> bool:
    if p.kernel_thread or p.pid == 1 or p.realtime or p.pid in inputs.own_pids:
        return True
    return inputs.user_mode_uid is not None and p.uid != inputs.user_mode_uid


def _first_sight_user_tuned(p: ProcessRecord, inputs: PolicyInputs) -> bool:
    """Tuned by the user at first sight, with no parent whose settings it could have inherited."""
    procs = inputs.snapshot.processes
    orphan = p.ppid not in procs and all(k.pid != p.ppid for k in inputs.managed_keys)
    return orphan and (p.policy in (SCHED_BATCH, SCHED_IDLE) or p.affinity_restricted)


def _check(inputs: PolicyInputs, out: dict) -> None:
    assert set(out) == {g.id for g in inputs.groups}
    for g in inputs.groups:
        d = out[g.id]
        assert d.group_id == g.id and d.reasons
        assert d.exempt <= set(g.members)
        if inputs.paused:
            assert not d.manage
        if not d.manage:
            assert d.klass in (PriorityClass.NORMAL, PriorityClass.CRITICAL)
            continue
        for pid in g.members:
            p = inputs.snapshot.processes[pid]
            if _must_be_exempt(p, inputs) or _first_sight_user_tuned(p, inputs):
                assert pid in d.exempt, (pid, d)


def _live_is_exact(state: PolicyState) -> None:
    """The live set the engine keeps as it goes is the one a walk over every group's state finds."""
    assert state.live == {gid for gid, g in state.groups.items() if clock_bound(g)}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(world())
def test_protected_processes_are_never_managed_and_decide_is_deterministic(inputs):
    out, state = decide(inputs, PolicyState())
    _check(inputs, out)
    _live_is_exact(state)
    again, state_again = decide(inputs, PolicyState())
    assert again == out and state_again == state

    # The same world presented in another order decides the same.
    shuffled = replace(
        inputs,
        groups=list(reversed(inputs.groups)),
        snapshot=snap(*reversed(inputs.snapshot.processes.values()), sys=inputs.snapshot.system),
    )
    assert decide(shuffled, PolicyState()) == (out, state)

    # A fast-path round on a subset decides only that subset and leaves the rest alone.
    subset = inputs.groups[::2]
    untouched = {g.id for g in inputs.groups} - {g.id for g in subset}
    for partial in (True, False):
        fast_inputs = replace(inputs, groups=subset, partial=partial, now=0.5)
        fast, fast_state = decide(fast_inputs, state)
        _check(fast_inputs, fast)
        _live_is_exact(fast_state)
        for gid in untouched:
            assert fast_state.groups[gid] == state.groups[gid]
            assert fast_state.decisions[gid] == state.decisions[gid]

    # Later rounds, with state carried and pins expiring, keep the guarantees.
    for now in (1.0, 2.5, 9.0):
        later = replace(inputs, now=now)
        forgetful = replace(state, memo={})
        out, state = decide(later, state)
        _check(later, out)
        _live_is_exact(state)
        # Reused answers are the answers: without its memo the same state decides the same.
        assert decide(later, forgetful) == (out, state)
        assert decide(later, state) == decide(later, state)
    # Groups whose processes are all gone are pruned, and leave the live set with their state.
    emptied = replace(inputs, now=60.0, snapshot=snap(sys=inputs.snapshot.system), groups=[])
    _, state = decide(replace(emptied, prune=False), state)
    _live_is_exact(state)
    _, state = decide(emptied, state)
    assert not state.groups and not state.live
