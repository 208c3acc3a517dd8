"""Run the real `smoothdesk --agent-only --install-integration` in a test session's environment."""

from __future__ import annotations

import subprocess
import sys

from tests.support.compositor import REPO


def install_integration(env: dict[str, str]) -> str:
    """Its output; RuntimeError with what it printed when it fails."""
    argv = [sys.executable, "-m", "smoothdesk.gui.app", "--agent-only", "--install-integration"]
    done = subprocess.run(argv, env=env, cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"--install-integration failed ({done.returncode}): {done.stdout}{done.stderr}")
    return done.stdout
