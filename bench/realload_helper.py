"""The helpers bench_realload runs: which trees and modes, their command line, and other agents' helpers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

FOCUS = "+focus"


def sd_modes(trees: list[Path], focus: bool = True) -> dict[str, Path]:
    """SmoothDesk modes per helper tree: "smoothdesk", or "sd@<commit>" to compare commits; each
    also with the measured app reported focused ("<mode>+focus") unless `focus` is off."""
    if len(trees) == 1:
        plain = {"smoothdesk": trees[0]}
    else:
        plain = {f"sd@{tree_revision(t).split(',')[0].split()[0][:7]}": t for t in trees}
    out = {}
    for mode, tree in plain.items():
        out[mode] = tree
        if focus:
            out[mode + FOCUS] = tree
    return out


def run_root(tmp: Path) -> Path:
    """Where the helpers' journals go: a tmpfs, as /run (the unit's RuntimeDirectory) and
    $XDG_RUNTIME_DIR are on a desktop. Not the temp dir: on this machine that is ext4 mounted with
    discard, where each journal save's rename freed the old file's blocks with a synchronous discard,
    about 1-2 ms of kernel time that kept the app's waker waiting (traced: ext4_free_blocks ->
    blkdev_issue_discard)."""
    mounts = [line.split()[1:3] for line in Path("/proc/self/mounts").read_text().splitlines()]
    return Path("/dev/shm", tmp.name) if ["/dev/shm", "tmpfs"] in mounts else tmp


def helper_argv(tmp: Path, bus: str = "none") -> list[str]:
    """The helper with its default config; state in our temp dir, the journal on a tmpfs (run_root)."""
    return [
        sys.executable,
        "-m",
        "smoothdesk.helper.main",
        "--bus",
        bus,
        "--run-dir",
        str(run_root(tmp) / "run"),
        "--state-dir",
        str(tmp / "state"),
    ]


PREFIX = f"sd-realload-{os.getpid()}"


def helper_env(tree: Path) -> dict[str, str]:
    # --helper-tree runs a snapshot (git archive) of a commit, not the shared working tree that
    # other agents are editing under us. Our own cgroup prefix: other agents' helpers use the
    # default one, and a storm process in their groups must not pass for ours.
    return {**os.environ, "PYTHONPATH": str(tree), "SMOOTHDESK_CGROUP_PREFIX": PREFIX}


def slice_us(pid: int) -> str:
    """The process's EEVDF slice in us as sched_getattr reads it (a custom one or the base one)."""
    from smoothdesk.actuator.slices import get_attr

    try:
        return f"{get_attr(pid).sched_runtime / 1000:g} us"
    except OSError:
        return "?"


def tree_revision(tree: Path) -> str:
    """The commit a helper tree holds: git's word for a checkout, the COMMIT file of a snapshot."""
    if (tree / "COMMIT").exists():
        return (tree / "COMMIT").read_text().strip() + ", git archive snapshot"
    out = subprocess.run(
        ["git", "-C", str(tree), "describe", "--always", "--dirty"],
        check=False,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip() + " (working tree)" if out.returncode == 0 else "unknown revision"


def compile_tree(tree: Path) -> None:
    """Byte-compile a helper tree, as an installed package is (PYTHONDONTWRITEBYTECODE is set here)."""
    argv = [sys.executable, "-m", "compileall", "-q", "-j", "0", str(tree / "smoothdesk")]
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)


def foreign_helpers(mine: set[int]) -> list[int]:
    """Helpers that other agents run (their tests and benches); they may manage our storm too."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) not in mine:
            try:
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            if b"smoothdesk-helper" in cmd or b"smoothdesk.helper.main" in cmd:
                out.append(int(entry.name))
    return out
