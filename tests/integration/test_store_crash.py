"""kill -9 while the snapshot log writes (ticks, checkpoints, retention): the file stays intact and keeps
every tick that was committed before the kill."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.support.crash import kill_mid_write

REPO = Path(__file__).resolve().parents[2]
GROUPS = 60

# Writes ticks as fast as it can through the real store and prints each tick's time once its
# transaction has committed; every 40 ticks it prints "R" and runs retention (size-bound).
WRITER = f"""
import sys, time
from pathlib import Path
from smoothdesk.core.observation import GroupObservation
from smoothdesk.core.process import ProcessRecord
from smoothdesk.telemetry.store import SnapshotStore

store = SnapshotStore.open(Path(sys.argv[1]), max_bytes=int(sys.argv[2]), max_age_s=10**9)
print("problems", len(store.problems), flush=True)
t = float(sys.argv[3])
n = 0
while True:
    obs = [GroupObservation(t, f"unit:g{{i}}", f"g{{i}}", "unit", 1000, "normal", "", 1, 2, float(i), 1.0,
                            4096 * i, 0.0, 0.0, 9.0, False, i == 0, False, -1.0, -1.0, 0)
           for i in range({GROUPS})]
    procs = [ProcessRecord(pid=100 + k, ppid=1, uid=1000, comm="p", start_time=int(t) * 1000 + k,
                           cmdline=("p", "x" * 100), cpu_tick=float(k % 17)) for k in range(300)]
    decisions = [(o.group_id, "normal", str(int(t))) for o in obs]
    store.write_tick(t, {{"cpu_busy": t % 100}}, procs, obs, decisions)
    print(repr(t), flush=True)
    n += 1
    if n % 40 == 0:
        print("R", flush=True)
        store.enforce_retention(now=t)
    t += 1.0
"""


def run_and_kill(
    path: Path, start: float, lines_before_kill: int, extra_delay: float, max_bytes: int
) -> tuple[list[float], list[str]]:
    lines = kill_mid_write(
        WRITER,
        [str(path), str(max_bytes), repr(start)],
        ready=lambda lines: len(lines) >= lines_before_kill,
        delay=extra_delay,
    )
    return [float(x) for x in lines if x != "R"], lines


@pytest.mark.slow
def test_sigkill_during_writes_keeps_the_file_intact_and_committed_ticks(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite"
    start = 1000.0
    must_have: set[float] = set()
    written = 0
    # Different moments: right after opening, mid-stream, around retention (every 40th tick).
    for round_no, (count, delay) in enumerate(
        [(1, 0.0), (13, 0.003), (39, 0.0), (40, 0.001), (57, 0.02), (81, 0.0)]
    ):
        committed, lines = run_and_kill(path, start, count, delay, max_bytes=300_000)
        assert committed, f"round {round_no}: nothing committed"
        if "R" in lines:
            # Retention may drop ticks written before it began, never later ones nor the newest.
            last_r = len(lines) - 1 - lines[::-1].index("R")
            kept = [float(x) for x in lines[:last_r] if x != "R"][-1:] + [
                float(x) for x in lines[last_r:] if x != "R"
            ]
            must_have = set(kept)
        else:
            must_have |= set(committed)
        conn = sqlite3.connect(path)
        try:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)], f"round {round_no}"
            present = {r[0] for r in conn.execute("SELECT ts FROM samples")}
            assert must_have <= present, f"round {round_no}: lost {sorted(must_have - present)[:5]}"
            # Whole transactions only: every tick has all its group rows.
            partial = conn.execute(
                "SELECT s.ts, count(a.seq) FROM samples s LEFT JOIN app_groups a ON a.tick = s.tick "
                "GROUP BY s.tick HAVING count(a.seq) != ?",
                (GROUPS,),
            ).fetchall()
            assert partial == [], f"round {round_no}: partial ticks {partial[:3]}"
        finally:
            conn.close()
        written += len(committed)
        start = committed[-1] + 1000.0
    conn = sqlite3.connect(path)
    stored = conn.execute("SELECT count(*) FROM samples").fetchone()[0]
    conn.close()
    assert 0 < stored < written  # retention did run (and was killed around) along the way
    assert not list(tmp_path.glob("*.corrupt-*"))  # never needed to move the file aside
