"""The user-mode run directory: XDG_RUNTIME_DIR, else a private per-uid directory."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from smoothdesk.config.errors import ConfigError
from smoothdesk.config.paths import run_dir


def test_prefers_xdg_runtime_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    assert run_dir(user_mode=True) == tmp_path / "smoothdesk"
    assert run_dir(user_mode=False) == Path("/run/smoothdesk")


def test_fallback_is_private_and_refuses_a_planted_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    made = run_dir(user_mode=True)
    assert made == tmp_path / f"smoothdesk-{os.getuid()}"
    assert made.stat().st_mode & 0o777 == 0o700
    assert run_dir(user_mode=True) == made  # an existing private one is reused
    made.chmod(0o777)
    with pytest.raises(ConfigError, match="not a private directory"):
        run_dir(user_mode=True)
    made.rmdir()
    made.symlink_to(tmp_path)
    with pytest.raises(ConfigError, match="not a private directory"):
        run_dir(user_mode=True)
