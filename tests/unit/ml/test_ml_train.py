"""Tests for smoothdesk-train on a small generated trace: it beats its baseline and exports ONNX."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from ml_support import small_ticks, write_ticks

from smoothdesk.ml import features
from smoothdesk.ml.ranker import OnnxRanker
from smoothdesk.ml.training.train import TrainConfig, main, train
from smoothdesk.telemetry.store import SnapshotStore


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("train")
    db = tmp / "trace.sqlite"
    assert main(["--generate-trace", str(db), "--days", "0.25", "--seed", "11"]) == 0
    result = train(TrainConfig(db, tmp / "model", iterations=80, depth=4, seed=11))
    return tmp, result


def test_trainer_beats_the_baseline_it_reports(trained):
    tmp, _ = trained
    meta = json.loads((tmp / "model" / "attention.json").read_text())
    model, base = meta["metrics"]["model"], meta["metrics"]["baseline"]
    assert model["auc"] > base["auc"]
    # where the engine actually consults the ranker: groups without a focus or audio hint
    assert model["auc_unhinted"] > base["auc_unhinted"]
    assert 0.5 < base["auc"] < 1.0  # the baseline is a real contender, not a strawman
    assert model["ndcg@5"] > 0.5
    assert meta["features"] == list(features.FEATURES)
    assert meta["features_hash"] == features.FEATURES_HASH
    assert meta["rows"]["train"] > meta["rows"]["test"] > 0
    assert meta["split_at"] > meta["time_range"][0]
    assert meta["catboost_version"] and meta["seed"] == 11
    assert (tmp / "model" / "attention.onnx").stat().st_size > 1000


def test_split_is_by_time(trained):
    _, result = trained
    split = result.meta["split_at"]
    assert min(r.ts for r in result.test.rows) == split
    # training labels look 60 s ahead: the rows whose minute reaches into the test part are dropped
    assert max(r.ts for r in result.train.rows) < split - 60.0
    assert len(result.train.rows) == result.meta["rows"]["train"]


def test_onnx_gives_catboost_probabilities(trained):
    tmp, result = trained
    ranker = OnnxRanker(tmp / "model" / "attention.onnx")
    rows = result.test.rows[:3000]
    expected = result.model.predict_proba(features.matrix(rows))[:, 1]
    got = ranker.probabilities(features.matrix(rows))
    assert np.max(np.abs(got - expected)) < 1e-5
    assert len(np.unique(np.round(got, 3))) > 10  # not a constant model


def test_cli_prints_metrics_and_writes_files(trained, tmp_path, capsys):
    tmp, _ = trained
    out = tmp_path / "m"
    assert (
        main(["--db", str(tmp / "trace.sqlite"), "--out", str(out), "--iterations", "5", "--since", "2h"])
        == 0
    )
    text = capsys.readouterr()
    assert "held-out AUC" in text.out and "rule-only baseline" in text.out
    assert "smoothdesk-train: reading" in text.err
    assert (out / "attention.onnx").is_file() and (out / "attention.json").is_file()


def test_missing_db_is_a_clear_error(tmp_path, capsys):
    missing = tmp_path / "nope.sqlite"
    assert main(["--db", str(missing), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert str(missing) in err and "no snapshot log" in err
    assert not missing.exists()


def test_empty_db_is_a_clear_error(tmp_path, capsys):
    db = tmp_path / "empty.sqlite"
    SnapshotStore.open(db).close()
    assert main(["--db", str(db), "--out", str(tmp_path / "o")]) == 2
    assert "holds no group observations" in capsys.readouterr().err


def test_too_few_positive_labels_is_a_clear_error(tmp_path, capsys):
    ticks = small_ticks(days=0.03)
    for t in ticks:
        t.events.clear()  # nobody ever focused anything: every label is 0
    db = tmp_path / "nofocus.sqlite"
    write_ticks(db, ticks)
    assert main(["--db", str(db), "--out", str(tmp_path / "o")]) == 2
    assert "positive labels" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_bad_since_is_a_clear_error(trained, tmp_path, capsys):
    tmp, _ = trained
    assert main(["--db", str(tmp / "trace.sqlite"), "--out", str(tmp_path / "o"), "--since", "soon"]) == 2
    assert "--since 'soon'" in capsys.readouterr().err


def test_without_catboost_the_trainer_says_which_extra_is_missing(trained, tmp_path):
    tmp, _ = trained
    code = textwrap.dedent(f"""
        import sys
        sys.modules["catboost"] = None
        from smoothdesk.ml.training.train import main
        sys.exit(main(["--db", {str(tmp / "trace.sqlite")!r}, "--out", {str(tmp_path / "o")!r}]))
    """)
    proc = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert "[ml] extra" in proc.stderr
