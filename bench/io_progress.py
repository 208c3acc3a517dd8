"""The IO half of bench_levers: does a demoted IO reader still make progress next to busy readers?"""

from __future__ import annotations

import os
import time
from pathlib import Path

from smoothdesk.actuator import syscalls as sc


def io_progress(where: Path, seconds: float) -> list[dict[str, object]]:
    """Does a demoted IO reader still make progress next to 4 best-effort readers?

    O_DIRECT 4 KiB random reads of a 256 MiB file written in `where` (a directory on the disk
    to test). The low reader runs with each candidate ioprio; the result is its reads per
    second against each of the others'.
    """
    import mmap
    import random
    import threading

    data = where / "sd-bench-io.bin"
    size = 256 << 20
    with data.open("wb") as f:
        chunk = os.urandom(1 << 20)
        for _ in range(size >> 20):
            f.write(chunk)
        os.fsync(f.fileno())
    st = data.stat()
    dev = Path(f"/sys/dev/block/{os.major(st.st_dev)}:{os.minor(st.st_dev)}")
    queue = dev / "queue" if (dev / "queue").exists() else dev.resolve().parent / "queue"
    sched = (queue / "scheduler").read_text().strip()
    device = data
    rows: list[dict[str, object]] = []
    for label, prio in (
        ("best-effort 4 (default)", None),
        ("best-effort 7", sc.ioprio_value(sc.IOPRIO_CLASS_BE, 7)),
        ("idle class", sc.ioprio_value(sc.IOPRIO_CLASS_IDLE, 0)),
    ):
        stop = time.monotonic() + seconds
        counts = [0] * 5

        def reader(i: int, prio: int | None = prio, stop: float = stop, counts: list[int] = counts) -> None:
            if i == 4 and prio is not None:
                sc.set_ioprio(threading.get_native_id(), prio)
            buf = mmap.mmap(-1, 4096)
            fd = os.open(device, os.O_RDONLY | os.O_DIRECT)
            rnd = random.Random(i)
            try:
                while time.monotonic() < stop:
                    os.preadv(fd, [buf], rnd.randrange(size // 4096) * 4096)
                    counts[i] += 1
            finally:
                os.close(fd)
                buf.close()

        threads = [threading.Thread(target=reader, args=(i,)) for i in range(5)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        others = sum(counts[:4]) / 4 / seconds
        rows.append(
            {
                "low reader ioprio": label,
                "low reads/s": counts[4] / seconds,
                "each other reader reads/s": others,
                "scheduler": sched,
            }
        )
    data.unlink()
    return rows
