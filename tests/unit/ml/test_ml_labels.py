"""Tests for ml.training.labels: the attention label from a known focus-event sequence, via a real log too."""

from __future__ import annotations

from ml_support import obs

from smoothdesk.ml.training.labels import HOLD_LIMIT_S, attention_labels
from smoothdesk.telemetry.store import SnapshotStore

T0 = 1_700_000_000.0
EVENTS = [
    (T0 + 100, "A", 11, "focus"),
    (T0 + 150, "M", 40, "audio"),  # audio is not attention
    (T0 + 200, "B", 22, "focus"),
    (T0 + 300, "", 0, "focus"),  # focus went to no group: B's hold ends
    (T0 + 400, "C", 33, "input"),
]
CASES = [
    ("A", 30, 0),  # A's focus at +100 is 70 s ahead
    ("A", 40, 1),  # exactly 60 s ahead counts
    ("A", 150, 1),  # holding the focus
    ("A", 199, 1),
    ("A", 200, 0),  # B took it at +200
    ("B", 150, 1),
    ("B", 299, 1),
    ("B", 300, 0),  # the "" event ended B's hold
    ("C", 339, 0),
    ("C", 340, 1),  # input 60 s ahead
    ("C", 400, 0),  # the window is (ts, ts + 60]: input at ts itself is past
    ("M", 100, 0),
    ("Z", 100, 0),  # never seen in the log
]


def rows():
    return [obs(group_id=g, ts=T0 + t) for g, t, _ in CASES]


def test_labels_from_a_known_event_sequence():
    assert attention_labels(rows(), EVENTS) == [label for *_, label in CASES]


def test_event_order_in_the_input_does_not_matter():
    assert attention_labels(rows(), list(reversed(EVENTS))) == [label for *_, label in CASES]


def test_a_hold_without_a_following_event_ends_after_the_limit():
    events = [(T0, "A", 1, "focus")]
    o = [obs(group_id="A", ts=T0 + HOLD_LIMIT_S - 10), obs(group_id="A", ts=T0 + HOLD_LIMIT_S + 1)]
    assert attention_labels(o, events) == [1, 0]


def test_horizon_is_a_parameter():
    o = [obs(group_id="A", ts=T0 + 30)]
    assert attention_labels(o, EVENTS, horizon=60.0) == [0]
    assert attention_labels(o, EVENTS, horizon=70.0) == [1]


def test_labels_from_events_read_back_from_a_real_log(tmp_path):
    store = SnapshotStore.open(tmp_path / "log.sqlite")
    try:
        for ts, gid, pid, kind in EVENTS:
            store.write_focus(ts, gid, pid, kind)
        events = store.focus_events(T0)
    finally:
        store.close()
    assert events == EVENTS
    assert attention_labels(rows(), events) == [label for *_, label in CASES]
