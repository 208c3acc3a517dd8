"""Shared pieces for the benchmarks: the C probe, named hogs, and a real helper process."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

CONFIG = "[rules]\nananicy_dirs = []\n"


class Workspace:
    """A temp dir with the compiled probe and named copies of dash; removes everything on exit."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="sd-bench-"))
        self.procs: list[subprocess.Popen[bytes]] = []
        self.probe = self.dir / "probe"
        subprocess.run(["gcc", "-O2", "-o", str(self.probe), str(HERE / "probe.c")], check=True)

    def binary(self, name: str) -> Path:
        dst = self.dir / name
        if not dst.exists():
            shutil.copy2(os.path.realpath(shutil.which("dash") or "/bin/sh"), dst)
        return dst

    def hogs(
        self, n: int, name: str = "cc1plus", new_session: bool = False, pgid: int = 0
    ) -> list[subprocess.Popen[bytes]]:
        """n spinners: in a new session, or in process group pgid (0: each its own group)."""
        binary = self.binary(name)
        extra = {"start_new_session": True} if new_session else {"process_group": pgid}
        hogs = [subprocess.Popen([str(binary), "-c", "while :; do :; done"], **extra) for _ in range(n)]
        self.procs += hogs
        return hogs

    def run_probe(self, seconds: float, fifo: bool = False, pgid: int = 0) -> dict[str, float]:
        args = [str(self.probe), str(seconds)] + (["fifo"] if fifo else [])
        out = subprocess.run(args, capture_output=True, text=True, check=True, process_group=pgid)
        return json.loads(out.stdout)

    def helper(self, *extra: str, tick: float = 1.0, bus: str = "none") -> subprocess.Popen[bytes]:
        config = self.dir / "config.toml"
        config.write_text(CONFIG)
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "smoothdesk.helper.main",
                "--bus",
                bus,
                "--tick",
                str(tick),
                "--config",
                str(config),
                "--run-dir",
                str(self.dir / "run"),
                *extra,
            ],
            cwd=REPO,
            stderr=(self.dir / "helper.log").open("ab"),
        )
        self.procs.append(proc)
        return proc

    def helper_log(self) -> str:
        path = self.dir / "helper.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def kill(self, procs: list[subprocess.Popen[bytes]]) -> None:
        for p in procs:
            if p.poll() is None:
                p.send_signal(
                    signal.SIGTERM if "smoothdesk" in " ".join(map(str, p.args)) else signal.SIGKILL
                )
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()

    def close(self) -> None:
        self.kill(self.procs)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def require_root() -> None:
    if os.geteuid() != 0:
        sys.exit("this benchmark needs root (SCHED_FIFO probe, the helper's full levers)")


def cpu_seconds(pid: int) -> float:
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rfind(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def wait_demoted(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = Path(f"/proc/{pid}/stat").read_text()
        fields = text[text.rfind(")") + 2 :].split()
        if int(fields[16]) != 0 or int(fields[38]) != 0:
            return True
        time.sleep(0.01)
    return False
