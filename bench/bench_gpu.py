"""GPU collector cost: the full /dev/dri fd scan over the real /proc against a tick that reads only
the cached holders' fdinfo (a fake tree of 20 DRM clients from tests/data/drm, as this machine has no GPU)."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from common import REPO

from smoothdesk.collector.drm import scan_drm_holders
from smoothdesk.collector.gpu import GpuReader

SAMPLES = REPO / "tests" / "data" / "drm" / "t0"
ROUNDS = 50


def fake_tree(root: Path, holders: int) -> None:
    (root / "dev" / "dri").mkdir(parents=True)
    (root / "dev" / "dri" / "renderD128").touch()
    for i in range(holders):
        pid = 1000 + i
        for sub in ("fd", "fdinfo"):
            (root / "proc" / str(pid) / sub).mkdir(parents=True)
        for fd in range(3):
            os.symlink("/dev/null", root / "proc" / str(pid) / "fd" / str(fd))
        os.symlink("/dev/dri/renderD128", root / "proc" / str(pid) / "fd" / "5")
        text = (SAMPLES / "100-5").read_text().replace("drm-client-id:\t7", f"drm-client-id:\t{pid}")
        (root / "proc" / str(pid) / "fdinfo" / "5").write_text(text)


def per_call(fn: object, rounds: int = ROUNDS) -> float:
    start = time.perf_counter()
    for _ in range(rounds):
        fn()  # type: ignore[operator]
    return (time.perf_counter() - start) / rounds * 1000


def main() -> None:
    nproc = sum(1 for n in os.listdir("/proc") if n.isdigit())
    scan_ms = per_call(lambda: scan_drm_holders(Path("/proc")), 10)
    root = Path(tempfile.mkdtemp(prefix="sd-bench-gpu-"))
    try:
        fake_tree(root, 20)
        reader = GpuReader(root, nvml=False)
        reader.read(0.0, rescan=True)
        clock = iter(range(1, 10_000))
        tick_ms = per_call(lambda: reader.read(float(next(clock))))
        rescan_ms = per_call(lambda: reader.read(float(next(clock)), rescan=True))
    finally:
        shutil.rmtree(root)
    print(f"full /dev/dri fd scan of the real /proc ({nproc} processes): {scan_ms:.2f} ms")
    print(f"tick, 20 cached DRM holders (fake tree): {tick_ms:.3f} ms")
    print(f"tick with rescan, same tree: {rescan_ms:.3f} ms")
    print(f"ratio full scan / cached tick: {scan_ms / tick_ms:.1f}x")
    t0 = time.perf_counter()
    absent = GpuReader()
    absent.read(0.0)
    print(f"this machine: {absent.status.reason} (probe + read {1000 * (time.perf_counter() - t0):.2f} ms)")


if __name__ == "__main__":
    main()
