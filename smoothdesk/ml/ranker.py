"""The ONNX attention ranker the helper runs with onnxruntime (never CatBoost).

The helper hands it a way to build each tick's observations (`observe_lazy`; or the rows
themselves, `observe_tick`); the policy engine then asks
`score` for the groups it is unsure about and gets the model's probabilities for those. Its say
is bounded by the engine (policy.engine, stage 6): guardrails, pins, hints and rules come first.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smoothdesk.config.resources import resource_dir
from smoothdesk.core import AppGroup, Hints, Snapshot
from smoothdesk.core.observation import GroupObservation
from smoothdesk.ml.errors import MLError
from smoothdesk.ml.features import FEATURES, FEATURES_HASH, FEATURES_VERSION, matrix

if TYPE_CHECKING:
    import numpy as np

DEFAULT_DIR = resource_dir("model")
# Where an installed copy may live instead of the package data (an admin may replace it there).
INSTALLED_DIRS = (Path(sys.prefix) / "share" / "smoothdesk" / "model", Path("/usr/share/smoothdesk/model"))
MODEL_NAME, META_NAME = "attention.onnx", "attention.json"
# Scores of an older tick are stale: the helper stopped feeding rows, so say nothing.
MAX_AGE_S = 30.0
RowBuilder = Callable[[Sequence[AppGroup]], Sequence[GroupObservation]]
log = logging.getLogger(__name__)


def read_metadata(path: Path) -> dict[str, Any]:
    """The model's metadata, checked against this build's features; MLError names the file."""
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise MLError(f"{path}: cannot read the model metadata: {exc}") from None
    if not isinstance(meta, dict):
        raise MLError(f"{path}: model metadata must be a JSON object")
    if meta.get("features") != list(FEATURES) or meta.get("features_version") != FEATURES_VERSION:
        raise MLError(
            f"{path}: the model was trained on other features (version {meta.get('features_version')!r}, "
            f"{len(meta.get('features') or [])} features) than this SmoothDesk computes (version "
            f"{FEATURES_VERSION}, {len(FEATURES)} features, hash {FEATURES_HASH}); retrain it with "
            "smoothdesk-train"
        )
    if meta.get("features_hash", FEATURES_HASH) != FEATURES_HASH:
        raise MLError(f"{path}: features_hash {meta.get('features_hash')!r} is not {FEATURES_HASH}")
    return meta


class OnnxRanker:
    """A Ranker (core.ranker) backed by an exported attention model."""

    def __init__(
        self, model_path: Path, meta_path: Path | None = None, *, lazy: bool = False, background: bool = False
    ) -> None:
        """`lazy` defers onnxruntime until the first score: the helper's engine asks the ranker
        only about groups near a demotion, so on a quiet desktop the runtime (about 50 MB
        resident with the session) is never loaded. The metadata is checked at once either way.

        `background` (with lazy): the first score starts the load on a thread and answers
        nothing (neutral) until it is done. The load is 0.2-0.3 CPU-s, which at a helper's start
        beside 8 hogs was most of its CPU before its first demotion.
        """
        self.model_path = Path(model_path)
        self.meta_path = meta_path or self.model_path.with_suffix(".json")
        self.metadata = read_metadata(self.meta_path)
        self._output = str(self.metadata.get("output", "probabilities"))
        if not self.model_path.is_file():
            raise MLError(f"{self.model_path}: the model file is missing")
        self._session: Any = None
        self._failure: str | None = None
        self._input = ""
        self._rows: Sequence[GroupObservation] = ()
        self._scores: dict[str, float] | None = None
        self._build: RowBuilder | None = None
        self._built_at = 0.0
        self.background = background
        self._loader: threading.Thread | None = None
        if not lazy:
            self.load()

    @property
    def loaded(self) -> bool:
        return self._session is not None

    @property
    def state(self) -> str:
        """For doctor: loaded, not loaded yet, or why it could not load."""
        if self._failure is not None:
            return f"failed: {self._failure}"
        if self._session is not None:
            return "loaded"
        if self._loader is not None:
            return "loading"
        return "not loaded yet: no group has needed it"

    def load(self) -> None:
        """Start the onnxruntime session (once); MLError names the file when it cannot.

        A failure is remembered: the engine asks every tick, and a broken model is not retried.
        """
        if self._session is not None:
            return
        if self._failure is not None:
            raise MLError(self._failure)
        try:
            session, name = self._start_session()
        except MLError as exc:
            self._failure = str(exc)
            raise
        # The input name first: another thread takes a session that is not None as ready.
        self._input = name
        self._session = session

    def load_in_background(self) -> bool:
        """Start the load on a thread of its own (once); True when loaded. MLError once it failed."""
        if self._session is not None:
            return True
        if self._failure is not None:
            raise MLError(self._failure)
        if self._loader is None:
            self._loader = threading.Thread(
                target=self._load_logged, name="smoothdesk-ranker-load", daemon=True
            )
            self._loader.start()
        return False

    def wait_loaded(self, timeout: float) -> bool:
        """Wait for a background load; True when the session is ready."""
        if self._loader is not None:
            self._loader.join(timeout)
        return self._session is not None

    def _load_logged(self) -> None:
        try:
            self.load()
        except MLError as exc:
            log.warning("attention ranker: %s", exc)

    def _start_session(self) -> tuple[Any, str]:
        import onnxruntime as ort

        options = ort.SessionOptions()
        # The helper's overhead is the point: one thread, no pool spinning between ticks.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            session = ort.InferenceSession(str(self.model_path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types per failure
            raise MLError(f"{self.model_path}: onnxruntime cannot load the model: {exc}") from None
        inputs = session.get_inputs()
        if len(inputs) != 1 or inputs[0].shape[-1] not in (len(FEATURES), "N", None):
            raise MLError(f"{self.model_path}: expected one input of {len(FEATURES)} features")
        if self._output not in {o.name for o in session.get_outputs()}:
            raise MLError(f"{self.model_path}: no output named {self._output!r}")
        return session, inputs[0].name

    def probabilities(self, x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """P(attention) for each row of a feature matrix (features.matrix)."""
        import numpy as np

        if len(x) == 0:
            return np.zeros(0, dtype=np.float32)
        self.load()
        out = self._session.run([self._output], {self._input: x})[0]
        if isinstance(out, list):  # a model still carrying CatBoost's ZipMap
            return np.array([row[1] for row in out], dtype=np.float32)
        return np.asarray(out, dtype=np.float32)[:, 1]

    def score_observations(self, rows: Sequence[GroupObservation]) -> dict[str, float]:
        """Group id -> probability that the person uses it within a minute."""
        probs = self.probabilities(matrix(rows))
        return {r.group_id: float(p) for r, p in zip(rows, probs, strict=True)}

    def observe_tick(self, rows: Sequence[GroupObservation]) -> None:
        """Give the ranker this tick's rows; they are scored on the first `score` call."""
        self._rows, self._scores, self._build = rows, None, None

    def observe_lazy(self, build: RowBuilder, wall: float) -> None:
        """Give the ranker a way to make this tick's rows, so only the groups asked about are built."""
        self._rows, self._scores, self._build, self._built_at = (), None, build, wall

    def score(
        self, groups: Sequence[AppGroup], snapshot: Snapshot, hints: Hints, now: float
    ) -> Mapping[str, float]:
        """Probabilities for the requested groups found in the last rows given; others neutral
        (all of them while a background load runs)."""
        if self.background and not self.load_in_background():
            return {}
        if self._build is not None:
            if snapshot.wall - self._built_at > MAX_AGE_S:
                return {}
            return self.score_observations(self._build(groups))
        if not self._rows or snapshot.wall - self._rows[0].ts > MAX_AGE_S:
            return {}
        if self._scores is None:
            self._scores = self.score_observations(self._rows)
        scores = self._scores
        return {g.id: scores[g.id] for g in groups if g.id in scores}


def load_default(*, lazy: bool = False) -> OnnxRanker:
    """The model shipped in resources/model/ (see docs/ml.md for where it comes from)."""
    for directory in (DEFAULT_DIR, *INSTALLED_DIRS):
        if (directory / MODEL_NAME).is_file():
            return OnnxRanker(directory / MODEL_NAME, directory / META_NAME, lazy=lazy)
    raise MLError(f"{DEFAULT_DIR / MODEL_NAME}: the default attention model is not installed")
