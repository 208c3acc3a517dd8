"""Running test clients as an unprivileged uid (nobody), with an interpreter nobody can reach."""

from __future__ import annotations

import os
import site
import sys
from pathlib import Path

NOBODY = 65534
REPO = Path(__file__).resolve().parents[2]


def unprivileged_python() -> tuple[str, dict[str, str]]:
    """An interpreter and environment usable by nobody.

    The venv's interpreter may point into /root (pyenv), which nobody cannot enter, so use the
    system python3 of the same minor version with the venv's site-packages on PYTHONPATH.
    """
    candidates = [sys.executable, f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}"]
    exe = next((c for c in candidates if _usable_by_others(Path(c))), None)
    if exe is None:
        raise RuntimeError(f"no Python {sys.version_info[:2]} that nobody may run (tried {candidates})")
    paths = [str(REPO), *site.getsitepackages()]
    env = {"PYTHONPATH": os.pathsep.join(paths), "PATH": "/usr/bin:/bin", "HOME": "/"}
    return exe, env


def _usable_by_others(path: Path) -> bool:
    try:
        real = path.resolve(strict=True)
    except OSError:
        return False
    for part in [real, *real.parents]:
        mode = part.stat().st_mode
        if part == real and not mode & 0o001:
            return False
        if part != real and not mode & 0o001:
            return False
    return True


def drop_to_nobody() -> None:
    """preexec_fn for subprocesses that must run as nobody."""
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)
