"""Benchmark: load a 16k-rule ananicy-cpp DB (real CachyOS files replicated) and classify with it.

The limits: loading takes at most 0.5 s and 15 MB (tracemalloc peak). Wall time is the best of
three runs without tracemalloc (it slows allocation down several times); the peak comes from a
separate traced run. Exits 1 if a limit is exceeded.
"""

from __future__ import annotations

import re
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from smoothdesk.config.rules_files import ananicy_files, load_rules  # noqa: E402
from smoothdesk.core.process import ProcessRecord  # noqa: E402
from smoothdesk.policy.classifier import Classifier  # noqa: E402

SOURCE = REPO / "tests" / "data" / "ananicy" / "cachyos"
TARGET_RULES = 16_000
LIMIT_S = 0.5
LIMIT_MB = 15.0
_NAME = re.compile(r'("name"\s*:\s*")([^"]+)(")')


def generate(dest: Path) -> int:
    """Write copies of the real files, names renamed per copy, until TARGET_RULES rules exist."""
    rule_files = [p for p in ananicy_files(SOURCE) if p.suffix == ".rules"]
    for other in ("00-types.types", "00-cgroups.cgroups"):
        (dest / other).write_text((SOURCE / other).read_text())
    texts = {p.relative_to(SOURCE): p.read_text() for p in rule_files}
    per_copy = sum(1 for t in texts.values() for ln in t.splitlines() if ln.strip().startswith("{"))
    copies = -(-TARGET_RULES // per_copy)
    total = 0
    for i in range(copies):
        for rel, text in texts.items():
            out = dest / f"copy{i:03d}" / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            renamed = _NAME.sub(rf"\g<1>\g<2>~{i}\g<3>", text)
            out.write_text(renamed)
        total += per_copy
    return total


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="smoothdesk-bench-") as tmp:
        db = Path(tmp)
        lines = generate(db)
        files = len(ananicy_files(db))
        timings = []
        for _ in range(3):
            t0 = time.perf_counter()
            result = load_rules([], [db])
            timings.append(time.perf_counter() - t0)
        wall = min(timings)
        del result
        tracemalloc.start()
        result = load_rules([], [db])
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        peak_mb = peak / 2**20
        rules = len(result.ruleset)
        errors = len(result.errors)

        classifier = Classifier(result.ruleset)
        procs = [
            ProcessRecord(
                pid=i,
                ppid=1,
                uid=1000,
                comm=name[:15],
                start_time=i,
                exe=f"/usr/bin/{name}",
                cmdline=(f"/usr/bin/{name}", "--flag"),
            )
            for i, name in enumerate(
                [f"firefox~{k}" for k in range(500)] + [f"unknown-{k}" for k in range(500)]
            )
        ]
        t0 = time.perf_counter()
        for proc in procs:
            classifier.classify(proc)
        cold_us = (time.perf_counter() - t0) / len(procs) * 1e6
        t0 = time.perf_counter()
        for proc in procs:
            classifier.classify(proc)
        warm_us = (time.perf_counter() - t0) / len(procs) * 1e6

    print(f"DB: {lines} rule lines in {files} files (real CachyOS files replicated)")
    print(f"loaded: {rules} rules, {errors} errors")
    print(f"wall time (best of 3): {wall * 1000:.0f} ms  ({wall / LIMIT_S:.2f} of the 0.5 s limit)")
    print(f"tracemalloc peak: {peak_mb:.1f} MB  ({peak_mb / LIMIT_MB:.2f} of the 15 MB limit)")
    print(f"throughput: {rules / wall:,.0f} rules/s")
    print(f"classify: {cold_us:.1f} us/process uncached, {warm_us:.2f} us/process cached")
    return 0 if wall <= LIMIT_S and peak_mb <= LIMIT_MB and errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
