"""The real `smoothdesk --agent-only --install-integration` and `smoothdeskctl doctor` in a session."""

from __future__ import annotations

import json
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


def doctor_focus(env: dict[str, str]) -> dict[str, str]:
    """The 'focus' finding of the real `smoothdeskctl doctor --json` in that environment."""
    argv = [sys.executable, "-m", "smoothdesk.cli.main", "doctor", "--json"]
    done = subprocess.run(argv, env=env, cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    try:
        findings = json.loads(done.stdout)
    except ValueError:
        raise RuntimeError(
            f"doctor printed no JSON ({done.returncode}): {done.stdout}{done.stderr}"
        ) from None
    (focus,) = [f for f in findings if f["key"] == "focus"]
    return dict(focus)
