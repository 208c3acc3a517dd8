"""smoothdesk-train: learns the attention ranker from the snapshot log and exports it as ONNX.

Reads observations and focus events, labels them (ml.labels), splits by time, fits CatBoost,
reports AUC and NDCG@5 on the later, held-out part for the model and for the rule-only baseline
(ml.metrics.baseline_score), and writes attention.onnx plus attention.json.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from smoothdesk.ml import features
from smoothdesk.ml.errors import MLError
from smoothdesk.ml.training import metrics
from smoothdesk.ml.training.dataset import Dataset, load, split_by_time
from smoothdesk.ml.training.export import export

MIN_POSITIVES = 20


@dataclass(frozen=True, slots=True)
class TrainConfig:
    db: Path
    out: Path
    since: str | None = None
    iterations: int = 300
    depth: int = 5
    seed: int = 3
    test_fraction: float = 0.25
    trace: dict[str, float] | None = None  # the generator's arguments when training on a synthetic trace


def default_db() -> Path:
    """The helper's snapshot log when `store.path` is left empty (config.schema)."""
    from smoothdesk.config.paths import state_dir

    return state_dir(os.geteuid() != 0) / "snapshots.sqlite"


def _say(text: str) -> None:
    print(f"smoothdesk-train: {text}", file=sys.stderr, flush=True)


def _evaluate(test: Dataset, probs: np.ndarray[Any, Any]) -> dict[str, dict[str, float]]:
    """AUC and NDCG@5 on every held-out row, and on the rows without a focus or audio hint:
    the engine asks the ranker only about groups that hints and rules have not settled."""
    base = metrics.baseline_scores(test.rows)
    ticks, y = test.ticks, test.labels
    grace = metrics.FOCUS_GRACE_S
    open_ = np.array([not (o.focused or o.audio or 0.0 <= o.seconds_since_focus <= grace) for o in test.rows])
    out: dict[str, dict[str, float]] = {}
    for name, s in (("model", probs), ("baseline", base)):
        out[name] = {
            "auc": metrics.auc(y, s),
            "ndcg@5": metrics.ndcg_at_k(ticks, y, s, 5),
            "auc_unhinted": metrics.auc(y[open_], s[open_]),
            "ndcg@5_unhinted": metrics.ndcg_at_k(ticks[open_], y[open_], s[open_], 5),
        }
    return out


@dataclass(frozen=True, slots=True)
class TrainResult:
    meta: dict[str, Any]  # what attention.json holds besides the feature list
    model: Any  # the fitted catboost.CatBoostClassifier
    train: Dataset
    test: Dataset  # the held-out rows the metrics were computed on


def train(cfg: TrainConfig) -> TrainResult:
    """Train, evaluate and export attention.onnx + attention.json into cfg.out."""
    try:
        import catboost
    except ImportError:
        raise MLError(
            "CatBoost is not installed: the trainer needs the [ml] extra (pip install 'smoothdesk[ml]'); "
            "the helper itself runs the exported model without it"
        ) from None
    _say(f"reading {cfg.db}")
    data, problems = load(cfg.db, cfg.since)
    for problem in problems:
        _say(f"snapshot log: {problem}")
    train_set, test_set = split_by_time(data, cfg.test_fraction)
    for name, part, need in (("training", train_set, MIN_POSITIVES), ("test", test_set, 5)):
        if part.positives < need:
            raise MLError(
                f"{cfg.db}: only {part.positives} positive labels (focus or input within a minute) in "
                f"the {name} part; need {need}. Keep the helper running with the session agent longer."
            )
    _say(
        f"{len(train_set.rows)} training rows ({train_set.positives} positive), "
        f"{len(test_set.rows)} test rows ({test_set.positives} positive); fitting {cfg.iterations} trees"
    )
    x_train, x_test = features.matrix(train_set.rows), features.matrix(test_set.rows)
    model = catboost.CatBoostClassifier(
        iterations=cfg.iterations,
        depth=cfg.depth,
        random_seed=cfg.seed,
        thread_count=2,
        allow_writing_files=False,
    )
    started = time.monotonic()
    model.fit(x_train, train_set.labels, verbose=max(1, cfg.iterations // 5), log_cout=sys.stderr)
    _say(f"fitted in {time.monotonic() - started:.1f} s")
    probs = model.predict_proba(x_test)[:, 1]
    scores = _evaluate(test_set, probs)
    t = data.ticks
    meta: dict[str, Any] = {
        "metrics": scores,
        "metrics_note": "held-out later part of the log; baseline = ml.metrics.baseline_score",
        "rows": {"train": len(train_set.rows), "test": len(test_set.rows)},
        "positives": {"train": train_set.positives, "test": test_set.positives},
        "time_range": [float(t.min()), float(t.max())],
        "split_at": float(test_set.ticks.min()),
        "seed": cfg.seed,
        "iterations": cfg.iterations,
        "depth": cfg.depth,
        "catboost_version": catboost.__version__,
        "source": {"synthetic_trace": cfg.trace} if cfg.trace is not None else {"snapshot_log": cfg.db.name},
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    export(model, cfg.out, meta)
    return TrainResult(meta, model, train_set, test_set)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="smoothdesk-train", description=__doc__.splitlines()[0])
    p.add_argument("--db", type=Path, default=None, help=f"snapshot log (default {default_db()})")
    p.add_argument("--out", type=Path, default=None, help="directory for attention.onnx + attention.json")
    p.add_argument("--since", default=None, help="train on the last span of the log only: 90m, 24h, 7d")
    p.add_argument("--iterations", type=int, default=300, help="CatBoost trees (default 300)")
    p.add_argument("--depth", type=int, default=5, help="tree depth (default 5)")
    p.add_argument("--seed", type=int, default=3, help="random seed for CatBoost and the trace")
    p.add_argument(
        "--generate-trace",
        type=Path,
        metavar="PATH",
        default=None,
        help="write a synthetic trace to PATH first (and train on it when --out is given)",
    )
    p.add_argument("--days", type=float, default=3.0, help="simulated days for --generate-trace")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.generate_trace is not None:
            from smoothdesk.ml.training.trace import write_trace

            if args.generate_trace.exists():
                raise MLError(f"{args.generate_trace}: exists; the trace goes into a new file")
            ticks, rows = write_trace(args.generate_trace, seed=args.seed, days=args.days, progress=_say)
            _say(f"wrote {ticks} ticks, {rows} rows to {args.generate_trace}")
            if args.out is None:
                return 0
        if args.out is None:
            raise MLError("--out DIR is required to train")
        if args.iterations < 1:
            raise MLError(f"--iterations {args.iterations}: must be at least 1")
        db = args.db or args.generate_trace or default_db()
        trace = None
        if args.generate_trace is not None and args.db is None:
            trace = {"seed": args.seed, "days": args.days, "tick_s": 10.0}
        cfg = TrainConfig(db, args.out, args.since, args.iterations, args.depth, args.seed, trace=trace)
        meta = train(cfg).meta
    except MLError as exc:
        print(f"smoothdesk-train: error: {exc}", file=sys.stderr)
        return 2
    m, b = meta["metrics"]["model"], meta["metrics"]["baseline"]
    print(f"held-out AUC     model {m['auc']:.4f}   rule-only baseline {b['auc']:.4f}")
    print(f"held-out NDCG@5  model {m['ndcg@5']:.4f}   rule-only baseline {b['ndcg@5']:.4f}")
    print("  rows without a focus/audio hint (what the engine asks the ranker about):")
    print(f"  AUC    model {m['auc_unhinted']:.4f}   rule-only baseline {b['auc_unhinted']:.4f}")
    print(f"  NDCG@5 model {m['ndcg@5_unhinted']:.4f}   rule-only baseline {b['ndcg@5_unhinted']:.4f}")
    print(f"wrote {args.out / 'attention.onnx'} and {args.out / 'attention.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
