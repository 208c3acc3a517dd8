"""Tests for ml.observe: focus history per group, and rows built from core types."""

from __future__ import annotations

from ml_support import group, proc, snap

from smoothdesk.core import Classification, Decision, Hints, PriorityClass, Reason
from smoothdesk.ml.observe import (
    FOCUS_WINDOW_S,
    INPUT_EVERY_S,
    RETAIN_EVERY_S,
    FocusTracker,
    observe,
    with_classes,
)

W = 1_700_000_000.0


def kinds(events):
    return [(e.group_id, e.kind) for e in events]


def test_tracker_logs_focus_changes_input_and_audio_start():
    t = FocusTracker()
    assert kinds(t.update(W, ("A", 1), {}, input_active=True)) == [("A", "focus"), ("A", "input")]
    assert kinds(t.update(W + 1, ("A", 1), {"M": 5}, input_active=True)) == [("M", "audio")]
    assert kinds(t.update(W + 1 + INPUT_EVERY_S, ("A", 1), {"M": 5}, input_active=True)) == [("A", "input")]
    assert kinds(t.update(W + 20, ("B", 2), {})) == [("B", "focus")]
    assert kinds(t.update(W + 21, None, {})) == [("", "focus")]
    assert kinds(t.update(W + 22, None, {})) == []
    assert kinds(t.update(W + 23, ("A", 1), {})) == [("A", "focus")]


def test_tracker_recency_and_hourly_count():
    t = FocusTracker()
    assert t.seconds_since_focus("A", W) == -1.0 and t.focus_count_1h("A", W) == 0
    t.update(W, ("A", 1), {"A": 1})
    t.update(W + 10, ("B", 2), {})
    t.update(W + 20, ("A", 1), {})
    t.update(W + 30, ("B", 2), {})
    assert t.seconds_since_focus("A", W + 30) == 10.0
    assert t.seconds_since_audio("A", W + 30) == 30.0
    assert t.focus_count_1h("A", W + 30) == 2
    assert t.focus_count_1h("A", W + FOCUS_WINDOW_S + 5) == 1  # the change at W left the window
    t.retain({"B"}, W + 2 * FOCUS_WINDOW_S)
    assert t.seconds_since_focus("A", W + 2 * FOCUS_WINDOW_S) == -1.0


def test_observe_sums_members_and_reads_hints_rules_and_decisions():
    procs = [
        proc(10, cpu_tick=30.0, cpu_10s=20.0, rss=100, threads=3, tty=34816, start_time=5000),
        proc(11, cpu_tick=10.0, cpu_10s=5.0, rss=50, threads=2, io_read_rate=7.0, start_time=9000),
        proc(20, rss=10),
    ]
    groups = [group("term", 10, 11), group("x", 20, kind="unit")]
    classes = {11: Classification("terminal", PriorityClass.NORMAL, "r", "f:1")}
    decisions = {"term": Decision("term", PriorityClass.INTERACTIVE, (Reason("focus", "x"),))}
    tracker = FocusTracker()
    rows, events = observe(
        snap(*procs, mono=100.0, wall=W),
        groups,
        classes,
        decisions,
        Hints(frozenset({11}), frozenset({20})),
        tracker=tracker,
        input_active=True,
    )
    term, x = rows
    assert (term.n_procs, term.n_threads, term.cpu_tick, term.cpu_10s, term.rss_bytes) == (
        2,
        5,
        40.0,
        25.0,
        150,
    )
    assert (term.io_read_rate, term.has_tty, term.age_s, term.rule_type, term.klass) == (
        7.0,
        True,
        50.0,
        "terminal",
        "interactive",
    )
    assert (term.focused, term.audio, term.seconds_since_focus, term.focus_count_1h) == (True, False, 0.0, 1)
    assert (x.focused, x.audio, x.klass, x.rule_type, x.kind, x.ts) == (False, True, "", "", "unit", W)
    assert kinds(events) == [("term", "focus"), ("term", "input"), ("x", "audio")]
    decided = {"x": Decision("x", PriorityClass.BACKGROUND, ())}
    assert [r.klass for r in with_classes(rows, decided)] == ["interactive", "background"]


def test_observe_leader_type_wins_and_missing_members_are_skipped():
    groups = [group("g", 1, 2, 3)]
    classes = {
        2: Classification("compiler", PriorityClass.BACKGROUND, "r", "f:1"),
        1: Classification("build", PriorityClass.BACKGROUND, "r", "f:2"),
    }
    rows, _ = observe(snap(proc(1), proc(2)), groups, classes, {}, Hints(), tracker=FocusTracker())
    assert (rows[0].rule_type, rows[0].n_procs) == ("build", 2)


def test_observe_forgets_groups_that_are_gone_now_and_then():
    tracker = FocusTracker()
    p = proc(1)
    for i in range(30):  # a new build job group each time, focused once
        observe(snap(p, wall=W + i), [group(f"job{i}", 1)], {}, {}, Hints(frozenset({1})), tracker=tracker)
    assert len(tracker) == 30
    later = W + FOCUS_WINDOW_S + RETAIN_EVERY_S + 1
    observe(snap(p, wall=later), [group("job29", 1)], {}, {}, Hints(), tracker=tracker)
    assert len(tracker) == 1  # job29 is alive; the others were gone and out of the window
