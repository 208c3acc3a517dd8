"""Tests for the synthetic trace: reproducible from its seed, consistent rows, habits visible in labels."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

from smoothdesk.ml.training.labels import attention_labels
from smoothdesk.telemetry.store import SnapshotStore

REPO = Path(__file__).resolve().parents[3]


def _gen(path: Path, seed: int) -> None:
    args = [
        sys.executable,
        str(REPO / "scripts" / "gen_trace.py"),
        str(path),
        "--seed",
        str(seed),
        "--days",
        "0.1",
    ]
    proc = subprocess.run(args, check=False, capture_output=True, text=True, timeout=100)
    assert proc.returncode == 0, proc.stderr
    assert "wrote" in proc.stdout


def _content(path: Path):
    store = SnapshotStore.open(path)
    try:
        return store.observations(0.0), store.focus_events(0.0), store.samples(0.0), store.decisions(0.0)
    finally:
        store.close()


def test_same_seed_same_log_other_seed_other_log(tmp_path):
    for name, seed in (("a", 4), ("b", 4), ("c", 5)):
        _gen(tmp_path / f"{name}.sqlite", seed)
    a, b, c = (_content(tmp_path / f"{n}.sqlite") for n in "abc")
    assert a == b
    assert a[0] and a[1] and a[2] and a[3]
    assert a[0] != c[0] and a[1] != c[1]


def test_generator_refuses_to_overwrite(tmp_path):
    path = tmp_path / "x.sqlite"
    path.write_bytes(b"precious")
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "gen_trace.py"), str(path)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0 and "exists" in proc.stderr
    assert path.read_bytes() == b"precious"


def test_rows_are_consistent_and_habits_show(tmp_path):
    path = tmp_path / "t.sqlite"
    _gen(path, 4)
    rows, events, _, _ = _content(path)
    by_tick = Counter(r.ts for r in rows)
    focused = Counter(r.ts for r in rows if r.focused)
    assert all(n <= 1 for n in focused.values())  # one focused group at a time
    assert len(by_tick) > 300
    for r in rows:
        assert r.klass in {"critical", "interactive", "normal", "background", "idle"}
        if r.focused:
            assert r.seconds_since_focus == 0.0 and r.focus_count_1h >= 1
            assert r.klass in {"interactive", "critical"}  # the real engine decided it
    labels = attention_labels(rows, events)
    used = Counter(r.name for r, y in zip(rows, labels, strict=True) if y)
    assert used["code"] > used["slack"] > 0  # the editor is the main tool
    assert used["tracker-miner-fs-3"] == used["restic"] == 0  # nobody focuses daemons
    assert {e[3] for e in events} >= {"focus", "input"}
