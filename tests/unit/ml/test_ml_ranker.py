"""Tests for ml.ranker: the default model, refusing mismatched metadata, running without CatBoost."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from ml_support import group, obs, snap

from smoothdesk.core import Hints
from smoothdesk.core.ranker import Ranker
from smoothdesk.ml.errors import MLError
from smoothdesk.ml.features import FEATURES
from smoothdesk.ml.ranker import DEFAULT_DIR, MAX_AGE_S, OnnxRanker, load_default

HERE = Path(__file__).resolve().parent
EDITOR = obs(
    group_id="editor",
    name="code",
    rule_type="editor",
    n_procs=6,
    n_threads=80,
    cpu_tick=1.0,
    cpu_10s=1.0,
    rss_bytes=900 * 2**20,
    seconds_since_focus=20.0,
    focus_count_1h=9,
)
INDEXER = obs(
    group_id="indexer",
    name="tracker-miner-fs-3",
    rule_type="indexer",
    cpu_tick=60.0,
    cpu_10s=55.0,
    io_read_rate=200_000.0,
    rss_bytes=90 * 2**20,
)


@pytest.fixture
def model_copy(tmp_path):
    for name in ("attention.onnx", "attention.json"):
        shutil.copy(DEFAULT_DIR / name, tmp_path / name)
    return tmp_path


def test_default_model_ranks_a_recent_editor_above_a_busy_indexer():
    ranker = load_default()
    assert isinstance(ranker, Ranker)
    scores = ranker.score_observations([EDITOR, INDEXER])
    assert set(scores) == {"editor", "indexer"}
    assert all(0.0 <= s <= 1.0 for s in scores.values())
    assert scores["editor"] > scores["indexer"]
    meta = ranker.metadata
    assert meta["metrics"]["model"]["auc"] > meta["metrics"]["baseline"]["auc"]
    assert (DEFAULT_DIR / "attention.onnx").stat().st_size < 2**20


def test_score_answers_for_the_given_tick_rows_only():
    ranker = load_default()
    now = EDITOR.ts
    assert ranker.score([group("editor", 1)], snap(wall=now), Hints(), 0.0) == {}  # no rows yet
    ranker.observe_tick([EDITOR, INDEXER])
    got = ranker.score([group("editor", 1), group("other", 2)], snap(wall=now + 1), Hints(), 0.0)
    assert got == {"editor": ranker.score_observations([EDITOR])["editor"]}
    assert ranker.score([group("editor", 1)], snap(wall=now + MAX_AGE_S + 1), Hints(), 0.0) == {}


def test_lazy_rows_are_built_only_for_the_groups_asked_about():
    ranker = load_default()
    now = EDITOR.ts
    rows = {"editor": EDITOR, "indexer": INDEXER}
    asked: list[list[str]] = []

    def build(groups):
        asked.append([g.id for g in groups])
        return [rows[g.id] for g in groups]

    ranker.observe_lazy(build, now)
    got = ranker.score([group("indexer", 2)], snap(wall=now + 1), Hints(), 0.0)
    assert asked == [["indexer"]]
    assert got == ranker.score_observations([INDEXER])
    assert ranker.score([group("indexer", 2)], snap(wall=now + MAX_AGE_S + 1), Hints(), 0.0) == {}
    assert asked == [["indexer"]]  # stale: nothing built


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m.update(features=m["features"][:-1]), "trained on other features"),
        (lambda m: m.update(features=list(reversed(m["features"]))), "trained on other features"),
        (lambda m: m.update(features_version=m["features_version"] + 1), "trained on other features"),
        (lambda m: m.update(features_hash="0" * 16), "features_hash"),
        (lambda m: m.pop("features"), "trained on other features"),
    ],
)
def test_mismatched_metadata_is_refused_naming_the_file(model_copy, change, message):
    meta_path = model_copy / "attention.json"
    meta = json.loads(meta_path.read_text())
    change(meta)
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(MLError, match=message) as info:
        OnnxRanker(model_copy / "attention.onnx")
    assert str(meta_path) in str(info.value)


def test_unreadable_metadata_and_model_are_refused_naming_the_file(model_copy):
    (model_copy / "attention.json").write_text("{not json")
    with pytest.raises(MLError, match=r"attention\.json: cannot read"):
        OnnxRanker(model_copy / "attention.onnx")
    shutil.copy(DEFAULT_DIR / "attention.json", model_copy / "attention.json")
    (model_copy / "attention.onnx").write_bytes(b"\x00garbage")
    with pytest.raises(MLError, match=r"attention\.onnx: onnxruntime cannot load"):
        OnnxRanker(model_copy / "attention.onnx")


def test_ranker_runs_with_catboost_unimportable():
    code = textwrap.dedent("""
        import json, sys
        sys.modules["catboost"] = None
        from smoothdesk.ml.ranker import load_default
        from smoothdesk.ml import features
        sys.path.insert(0, {here!r})
        from test_ml_ranker import EDITOR, INDEXER
        print(json.dumps(load_default().score_observations([EDITOR, INDEXER])))
        assert "catboost" not in [m for m in sys.modules if sys.modules[m] is not None]
    """).format(here=str(HERE))
    proc = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=HERE.parents[2],
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == pytest.approx(load_default().score_observations([EDITOR, INDEXER]))
    assert len(FEATURES) == len(load_default().metadata["features"])


def test_a_lazy_ranker_loads_onnxruntime_at_its_first_score_and_not_before(model_copy):
    lazy = OnnxRanker(model_copy / "attention.onnx", lazy=True)
    assert not lazy.loaded
    lazy.observe_tick([EDITOR, INDEXER])
    assert not lazy.loaded  # rows alone do not load it
    scores = lazy.score([group("editor", 1), group("indexer", 2)], snap(wall=EDITOR.ts), Hints(), 0.0)
    assert lazy.loaded
    eager = load_default()
    assert scores == eager.score_observations([EDITOR, INDEXER])


def test_a_lazy_ranker_checks_the_metadata_at_once_and_the_model_at_first_use(model_copy):
    (model_copy / "attention.onnx").unlink()
    with pytest.raises(MLError, match=r"attention\.onnx: the model file is missing"):
        OnnxRanker(model_copy / "attention.onnx", lazy=True)
    (model_copy / "attention.onnx").write_bytes(b"\x00garbage")
    lazy = OnnxRanker(model_copy / "attention.onnx", lazy=True)
    assert lazy.state.startswith("not loaded yet")
    with pytest.raises(MLError, match=r"attention\.onnx: onnxruntime cannot load"):
        lazy.score_observations([EDITOR])
    # Remembered, not retried every tick: a repaired file is picked up when the helper restarts.
    shutil.copy(DEFAULT_DIR / "attention.onnx", model_copy / "attention.onnx")
    with pytest.raises(MLError, match=r"attention\.onnx: onnxruntime cannot load"):
        lazy.score_observations([EDITOR])
    assert lazy.state.startswith("failed: ") and not lazy.loaded


def test_a_background_ranker_answers_neutral_while_it_loads_then_scores_as_an_eager_one(model_copy):
    ranker = OnnxRanker(model_copy / "attention.onnx", lazy=True, background=True)
    ranker.observe_tick([EDITOR, INDEXER])
    groups = [group("editor", 1), group("indexer", 2)]
    first = ranker.score(groups, snap(wall=EDITOR.ts), Hints(), 0.0)
    assert first == {} and ranker.state in ("loading", "loaded")
    assert ranker.wait_loaded(60)
    assert ranker.state == "loaded"
    assert ranker.score(groups, snap(wall=EDITOR.ts), Hints(), 0.0) == load_default().score_observations(
        [EDITOR, INDEXER]
    )


def test_a_background_load_that_fails_is_reported_at_the_next_score_and_not_retried(model_copy):
    (model_copy / "attention.onnx").write_bytes(b"\x00garbage")
    ranker = OnnxRanker(model_copy / "attention.onnx", lazy=True, background=True)
    ranker.observe_tick([EDITOR])
    assert ranker.score([group("editor", 1)], snap(wall=EDITOR.ts), Hints(), 0.0) == {}
    assert not ranker.wait_loaded(60)
    with pytest.raises(MLError, match=r"attention\.onnx: onnxruntime cannot load"):
        ranker.score([group("editor", 1)], snap(wall=EDITOR.ts), Hints(), 0.0)
    assert ranker.state.startswith("failed: ")
