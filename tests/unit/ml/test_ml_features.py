"""Tests for ml.features: encoding, and parity between live rows and rows read back from the log."""

from __future__ import annotations

import numpy as np
import pytest
from ml_support import obs, small_ticks, write_ticks

from smoothdesk.ml.features import FEATURES, N_FEATURES, RULE_TYPES, matrix, type_column, vector
from smoothdesk.ml.ranker import load_default
from smoothdesk.telemetry.store import SnapshotStore


def col(name: str) -> int:
    return FEATURES.index(name)


def test_feature_names_are_unique_and_complete():
    assert len(set(FEATURES)) == len(FEATURES) == N_FEATURES
    assert all(f"type={t}" in FEATURES for t in RULE_TYPES)


@pytest.mark.parametrize(
    ("rule_type", "column"),
    [
        ("editor", "type=editor"),
        ("Player-Audio", "type=player-audio"),
        (" Chat ", "type=chat"),
        ("", "type=none"),
        ("Heavy_CPU", "type=other"),
        ("my-own-type", "type=other"),
    ],
)
def test_rule_type_is_one_hot(rule_type, column):
    v = vector(obs(rule_type=rule_type))
    types = [v[i] for i, name in enumerate(FEATURES) if name.startswith("type=")]
    assert sum(types) == 1.0
    assert v[col(column)] == 1.0
    assert type_column(rule_type) == col(column)


def test_numeric_fields_land_in_their_columns():
    v = vector(
        obs(
            rss_bytes=3 * 2**20,
            io_read_rate=2048.0,
            focused=True,
            has_tty=True,
            uid=0,
            kind="tree",
            seconds_since_focus=-1.0,
            focus_count_1h=7,
            cpu_10s=55.5,
        )
    )
    assert v[col("rss_mib")] == 3.0
    assert v[col("io_read_kib_s")] == 2.0
    assert (v[col("focused")], v[col("has_tty")], v[col("system_uid")], v[col("kind_unit")]) == (1, 1, 1, 0)
    assert (v[col("seconds_since_focus")], v[col("focus_count_1h")], v[col("cpu_10s")]) == (-1.0, 7.0, 55.5)


def test_klass_and_identity_are_not_features():
    """The decided class is the ranker's own feedback; names and ids do not carry over."""
    a = obs(klass="normal", name="firefox", group_id="unit:a.scope", ts=1.0)
    b = obs(klass="background", name="chrome", group_id="tree:1000:1:1", ts=2.0)
    assert vector(a) == vector(b)


def test_vector_equals_the_batch_matrix_rows():
    rows = [r for t in small_ticks(days=0.02) for r in t.rows]
    m = matrix(rows)
    assert m.dtype == np.float32 and m.shape == (len(rows), N_FEATURES)
    for i in range(0, len(rows), 37):
        assert vector(rows[i]) == m[i].tolist()
    assert matrix([]).shape == (0, N_FEATURES)


def test_rows_read_back_from_the_log_give_identical_features_and_scores(tmp_path):
    ticks = small_ticks()
    live = [r for t in ticks for r in t.rows]
    path = tmp_path / "log.sqlite"
    write_ticks(path, ticks)
    store = SnapshotStore.open(path)
    try:
        stored = store.observations(0.0)
    finally:
        store.close()
    assert stored == live
    assert np.array_equal(matrix(stored), matrix(live))
    assert [vector(r) for r in stored[:50]] == [vector(r) for r in live[:50]]
    ranker = load_default()
    by_tick: dict[float, list] = {}
    for r in stored:
        by_tick.setdefault(r.ts, []).append(r)
    for t in ticks[::20]:
        assert ranker.score_observations(t.rows) == ranker.score_observations(by_tick[t.ts])
