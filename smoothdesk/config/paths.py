"""Where SmoothDesk keeps its files in root and in user mode."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def run_dir(user_mode: bool) -> Path:
    """The runtime directory for the journal: tmpfs, so a reboot forgets it (as it should)."""
    if not user_mode:
        return Path("/run/smoothdesk")
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and Path(runtime).is_dir():
        return Path(runtime) / "smoothdesk"
    return Path(platformdirs.user_runtime_dir("smoothdesk"))


def user_config_dir() -> Path:
    return Path(platformdirs.user_config_dir("smoothdesk"))


def config_files(user_mode: bool) -> list[Path]:
    """Layered config files, lowest priority first."""
    files = [Path("/usr/share/smoothdesk/config.toml"), Path("/etc/smoothdesk/config.toml")]
    if user_mode:
        files.append(user_config_dir() / "config.toml")
    return files
